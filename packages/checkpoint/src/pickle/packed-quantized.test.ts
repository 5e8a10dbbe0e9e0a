import type * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { fixturePath, MANIFEST, sha256 } from '../testing/manifest.js';
import { load } from '../node.js';
import type { RawTensor } from '../tensors/materialise.js';
import { dequantizePacked, elementsPerByte } from './packed-quantized.js';

const packed = MANIFEST.fixtures.filter((f) => f.dequantized !== undefined);

describe('packed quantized tensors (quint4x2, quint2x4) from torch 1.13 and 2.13', () => {
  it('both torch versions wrote the fixture', () => {
    expect(packed.map((f) => f.file)).toEqual(['zip/quantized-packed.pt', 'torch2/zip/quantized-packed.pt']);
  });

  it.each(packed.map((f) => [f.file, f] as const))(
    '%s: dequantizes to what torch dequantize() returns',
    async (_file, fx) => {
      const { value } = await load<Map<string, tf.Tensor>>(fixturePath(fx.file), { mapLocation: 'cpu' });
      for (const [name, want] of Object.entries(fx.dequantized!)) {
        const t = value.get(name)!;
        expect([t.dtype, t.shape], name).toEqual(['float32', [want.length]]);
        expect(Array.from(t.dataSync()), name).toEqual(want);
        t.dispose();
      }
    },
  );

  it.each(packed.map((f) => [f.file, f] as const))(
    '%s: raw mode keeps the packed int_repr() bytes',
    async (_file, fx) => {
      const { value } = await load<Map<string, RawTensor>>(fixturePath(fx.file), { mapLocation: 'cpu', dtype: 'raw' });
      for (const t of fx.tensors) {
        const raw = value.get(t.path[0] as string)!;
        expect(raw.data.length).toBe(Math.ceil(t.shape[0]! / elementsPerByte(t.dtype)));
        expect(sha256(raw.data as Uint8Array)).toBe(t.sha256);
      }
    },
  );

  it('unpacks the low bits first: 0x21 as quint4x2 is [1, 2]; 0b11100100 as quint2x4 is [0, 1, 2, 3]', () => {
    expect(Array.from(dequantizePacked(Uint8Array.of(0x21), 2, 'quint4x2', 1, 0))).toEqual([1, 2]);
    expect(Array.from(dequantizePacked(Uint8Array.of(0b11100100), 4, 'quint2x4', 0.5, 1))).toEqual([-0.5, 0, 0.5, 1]);
  });
});

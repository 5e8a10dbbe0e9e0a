import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { float32ToHalf } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli/main.js';
import { diff, elementsAsNumbers, maxAbsDiff } from './diff.js';
import { RawTensor } from './tensors/materialise.js';
import { runPython, Storages, tempDir, torchAvailable } from './testing/torch.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('elementsAsNumbers / maxAbsDiff', () => {
  it('reads float16 bits, int64 and uint32 exactly', () => {
    const half = float32ToHalf(Float32Array.of(1, -2.5));
    expect([...elementsAsNumbers(new Uint8Array(half.buffer), 'float16')]).toEqual([1, -2.5]);
    expect([...elementsAsNumbers(new Uint8Array(BigInt64Array.of(-(2n ** 40n)).buffer), 'int64')]).toEqual([
      -(2 ** 40),
    ]);
    expect([...elementsAsNumbers(new Uint8Array(Uint32Array.of(2 ** 32 - 1).buffer), 'uint32')]).toEqual([2 ** 32 - 1]);
  });

  it('largest |a - b|; NaN on both sides is equal, on one side is NaN; equal infinities are equal', () => {
    expect(maxAbsDiff(Float64Array.of(1, 2, 3), Float64Array.of(1, 2.5, 2))).toBe(1);
    expect(maxAbsDiff(Float64Array.of(NaN, Infinity), Float64Array.of(NaN, Infinity))).toBe(0);
    expect(maxAbsDiff(Float64Array.of(NaN), Float64Array.of(0))).toBeNaN();
  });
});

describe('diff', () => {
  it('reports same / different / shape / dtype / missing per name, identical only when all are the same', async () => {
    const st = new Storages();
    const f = (v: number[]) => st.tensor(st.storage('float32', Float32Array.from(v)), [v.length], [1]);
    const a = new Map<string, unknown>([
      ['same', f([1, 2])],
      ['diff', f([1, 2, 3])],
      ['shape', f([1, 2])],
      ['dtype', f([1])],
      ['onlyA', f([0])],
    ]);
    const b = new Map<string, unknown>([
      ['same', tf.tensor1d([1, 2])],
      ['diff', f([1, 2.25, 3])],
      ['shape', f([1, 2, 3])],
      ['dtype', new RawTensor('float64', [1], Float64Array.of(1))],
      ['onlyB', f([0])],
    ]);
    const read = { storageBytes: (s: Parameters<Storages['bytes']['get']>[0]) => st.bytes.get(s)! };
    const r = await diff(a, b, { a: read, b: read });
    expect(r.identical).toBe(false);
    expect(r.tensors).toEqual([
      { name: 'same', status: 'same' },
      { name: 'diff', status: 'different', maxAbsDiff: 0.25 },
      { name: 'shape', status: 'shape', a: [2], b: [3] },
      { name: 'dtype', status: 'dtype', a: 'float32', b: 'float64' },
      { name: 'onlyA', status: 'missing', onlyIn: 'a' },
      { name: 'onlyB', status: 'missing', onlyIn: 'b' },
    ]);
    expect((await diff(new Map([['x', tf.tensor1d([3])]]), new Map([['x', tf.tensor1d([3])]]))).identical).toBe(true);
  });

  it('compares views by their elements, not their storages', async () => {
    const st = new Storages();
    const s = st.storage('int16', Int16Array.of(0, 1, 2, 3));
    const t = st.storage('int16', Int16Array.of(0, 2, 1, 3));
    const r = await diff([st.tensor(s, [2, 2], [1, 2])], [st.tensor(t, [2, 2], [2, 1])], {
      a: { storageBytes: (x) => st.bytes.get(x)! },
      b: { storageBytes: (x) => st.bytes.get(x)! },
    });
    expect(r.tensors).toEqual([{ name: '0', status: 'same' }]);
  });
});

describe('x-checkpoint diff', () => {
  const FIXTURES = join(import.meta.dirname, '../test/fixtures');
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['diff', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };

  it('the zip and legacy dtypes fixtures (same tensors per the manifest sha256s) are identical: exit 0', async () => {
    const r = await run(join(FIXTURES, 'zip/dtypes.pt'), join(FIXTURES, 'legacy/dtypes.pt'));
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out.at(-1)).toMatch(/^\d+ tensors: \d+ same$/);
  });

  it('different state dicts: every name missing on one side, exit 1', async () => {
    const r = await run(join(FIXTURES, 'zip/linear.pt'), join(FIXTURES, 'zip/parameters.pt'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('missing    weight  only in A');
  });

  it('a usage mistake exits 2, a file that cannot be read exits 2 with x-checkpoint: CODE: message', async () => {
    expect((await run('only-one.pt')).code).toBe(2);
    const r = await run(join(FIXTURES, 'zip/linear.pt'), join(tempDir(), 'absent.pt'));
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toMatch(/^x-checkpoint: SOURCE_IO: /);
  });

  it.skipIf(!torchAvailable && process.env.CI === undefined)(
    'a copy with bias + 0.5 and weight in float64: max abs diff as torch computes it, dtype mismatch',
    async () => {
      const b = join(tempDir(), 'changed.pt');
      const expected = runPython(
        `import sys, torch
sd = torch.load(sys.argv[1])
bias = sd['bias'].clone()
sd['bias'] = sd['bias'] + 0.5
sd['weight'] = sd['weight'].double()
torch.save(sd, sys.argv[2])
print(repr((sd['bias'].double() - bias.double()).abs().max().item()))`,
        [join(FIXTURES, 'zip/linear.pt'), b],
      ).trim();
      const r = await run(join(FIXTURES, 'zip/linear.pt'), b);
      expect(r.code).toBe(1);
      expect(r.out).toEqual([
        'dtype      weight  float32 vs float64',
        `different  bias  max abs diff ${Number(expected)}`,
        '2 tensors: 1 dtype, 1 different',
      ]);
    },
  );
});

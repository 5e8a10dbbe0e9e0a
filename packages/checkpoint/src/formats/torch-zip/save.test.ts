import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { createDeviceRuntime } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from '../../errors.js';
import { gather, RawTensor } from '../../tensors/materialise.js';
import { archivePrefix, save as saveFile } from '../../node/save.js';
import { save } from './save.js';
import { prepareValue, scatterView } from '../../tensors/prepare.js';
import { Storages, runPython, sameBytes, tempDir, torchAvailable } from '../../testing/torch.js';
import { OrderedDict, type StorageRef, type TensorRef } from '../../pickle/values.js';
import { memorySink } from '../../zip/writer.js';

const needTorch = torchAvailable || process.env.CI !== undefined;

/** Runs `script` with `out` = a fresh file path and returns the bytes it wrote there. */
function torchBytes(script: string): Uint8Array {
  const out = join(tempDir(), 'expected.bin');
  runPython(`import collections, io, sys, torch\nout = sys.argv[1]\n${script}`, [out]);
  return new Uint8Array(readFileSync(out));
}

beforeAll(async () => {
  if (!tf.engine().registryFactory['cpu-b']) {
    tf.registerBackend('cpu-b', () => new MathBackendCPU(), 0);
    tf.copyRegisteredKernels('cpu', 'cpu-b');
  }
  await tf.setBackend('cpu');
});

describe('archivePrefix (verified 1.13)', () => {
  it.each([
    ['a.b.pt', 'a.b'],
    ['noext', 'noext'],
    ['x.', 'x'],
    ['sub.dir/model.pth', 'model'],
    ['C:\\w\\pp.pt', 'pp'],
    ['ünï.pt', 'ünï'],
  ])('%s -> %s', (path, prefix) => expect(archivePrefix(path)).toBe(prefix));

  it('.hidden has an empty stem: invalid file name', () => {
    expect(() => archivePrefix('.hidden')).toThrow(/invalid file name/);
  });
});

describe('gather / scatterView', () => {
  // storage int16 [0..5] as a 2x3 matrix; its transpose reads elements 0,3,1,4,2,5
  const storage = new Uint8Array(Int16Array.from([0, 1, 2, 3, 4, 5]).buffer);
  const t = { offset: 0, shape: [3, 2], stride: [1, 3], dtype: 'int16' as const };

  it('gathers a transpose in C order and scatters it back', () => {
    const g = gather(storage, t, 2);
    expect([...new Int16Array(g.buffer, g.byteOffset, 6)]).toEqual([0, 3, 1, 4, 2, 5]);
    const back = new Uint8Array(12);
    scatterView(back, t, g);
    expect(back).toEqual(storage);
  });

  it('a contiguous slice is a subarray, stride 0 repeats one element', () => {
    const slice = gather(storage, { offset: 2, shape: [3], stride: [1] }, 2);
    expect(slice.buffer).toBe(storage.buffer);
    expect([...new Int16Array(slice.slice().buffer)]).toEqual([2, 3, 4]);
    const expanded = gather(storage, { offset: 5, shape: [3], stride: [0] }, 2);
    expect([...new Int16Array(expanded.buffer)]).toEqual([5, 5, 5]);
  });
});

describe('prepareValue', () => {
  it('keeps container identity, float marks and OrderedDict metadata; lists a shared tensor at each path', () => {
    const st = new Storages();
    const w = st.tensor(st.storage('float32', Float32Array.of(1, 2)), [2], [1]);
    const inner = [1, 2];
    const sd = new OrderedDict<string, unknown>([
      ['a', w],
      ['b', w],
      ['l1', inner],
      ['l2', inner],
    ]);
    sd.metadata = new OrderedDict([['', new Map([['version', 1]])]]);
    const p = prepareValue(sd, { storageBytes: (s) => st.bytes.get(s)! });
    const out = p.value as OrderedDict<string, unknown>;
    expect(out).toBeInstanceOf(OrderedDict);
    expect(out.metadata).toBe(sd.metadata);
    expect(out.get('l1')).toBe(out.get('l2'));
    expect(out.get('a')).toBe(out.get('b'));
    expect(p.tensors.map((t) => t.name)).toEqual(['a', 'b']);
  });

  it('a tensor reference without storageBytes is refused with STORAGE_MISSING', () => {
    const st = new Storages();
    const w = st.tensor(st.storage('float32', Float32Array.of(1)), [1], [1]);
    expect(() => prepareValue(new Map([['w', w]]))).toThrow(expect.objectContaining({ code: 'STORAGE_MISSING' }));
  });

  it('castFloating converts storages and keeps views on them; ints are untouched', async () => {
    const st = new Storages();
    const s = st.storage('float32', Float32Array.of(0, 1, 2, 3));
    const i = st.storage('int32', Int32Array.of(7));
    const p = prepareValue([st.tensor(s, [4], [1]), st.tensor(s, [2], [1], 2), st.tensor(i, [1], [1])], {
      storageBytes: (x) => st.bytes.get(x)!,
      castFloating: 'float16',
    });
    const [a, b, c] = p.tensors.map((t) => t.ref);
    expect(a!.storage).toBe(b!.storage);
    expect(a!.storage.dtype).toBe('float16');
    expect(b!.offset).toBe(2);
    expect(c!.dtype).toBe('int32');
    // float16 2.0 = 0x4000, 3.0 = 0x4200 (sign 0, exponent 16, mantissa 0 / 0x200)
    const bytes = await p.contiguous(b!);
    expect([...new Uint16Array(bytes.slice().buffer)]).toEqual([0x4000, 0x4200]);
  });

  it('gives a quantized raw tensor made in JS a contiguous storage of its integer dtype, and lists its data', async () => {
    const q = new RawTensor('qint8', [2], Int8Array.of(1, -2), {
      qscheme: 'per_tensor_affine',
      scale: 0.5,
      zeroPoint: 3,
    });
    const p = prepareValue([q]);
    const [out] = p.value as [{ kind: string; data: TensorRef; quantizer: unknown }];
    expect(out.kind).toBe('quantized');
    expect(out.quantizer).toEqual({ qscheme: 'per_tensor_affine', scale: 0.5, zeroPoint: 3 });
    expect(out.data.storage).toMatchObject({ dtype: 'qint8', numel: 2, byteLength: 2 });
    expect(p.tensors.map((t) => t.ref)).toEqual([out.data]);
    expect([...(await p.contiguous(out.data))]).toEqual([1, 0xfe]); // -2 as a byte
  });

  it('refuses sparse tensors without component tensors and inline device tensors with TENSOR_UNSUPPORTED', () => {
    expect(() => prepareValue([{ kind: 'sparse', layout: 'sparse_coo' }])).toThrow(
      expect.objectContaining({ code: 'TENSOR_UNSUPPORTED' }),
    );
    expect(() =>
      prepareValue([
        {
          kind: 'inline',
          dtype: 'float32',
          shape: [1],
          data: Float32Array.of(1),
          device: 'xla:0',
          requiresGrad: false,
        },
      ]),
    ).toThrow(expect.objectContaining({ code: 'TENSOR_UNSUPPORTED' }));
  });
});

describe.skipIf(!needTorch)('save: the bytes torch.save writes for the same value', () => {
  it('TF.js tensors made in TF.js are written in their TF.js dtype', async () => {
    const sd = new OrderedDict<string, unknown>([
      [
        'w',
        tf.tensor2d([
          [0, 1, 2],
          [3, 4, 5],
        ]),
      ],
      ['i', tf.tensor1d([1, -2, 3], 'int32')],
      ['m', tf.tensor1d([true, false], 'bool')],
    ]);
    sd.set('again', sd.get('w'));
    const sink = memorySink();
    await save(sd, sink, { layout: '1.13' });
    const expected = torchBytes(`
w = torch.tensor([[0., 1, 2], [3, 4, 5]])
sd = collections.OrderedDict([('w', w), ('i', torch.tensor([1, -2, 3], dtype=torch.int32)), ('m', torch.tensor([True, False])), ('again', w)])
buf = io.BytesIO(); torch.save(sd, buf); open(out, 'wb').write(buf.getvalue())`);
    expect(sameBytes(sink.bytes(), expected)).toBe('identical');
  });

  it('raw tensors made by the caller get contiguous storages of their own dtype', async () => {
    const sink = memorySink();
    await save(
      new Map([
        ['d', new RawTensor('float64', [2], Float64Array.of(0.5, -1))],
        ['l', new RawTensor('int64', [1], BigInt64Array.of(-(2n ** 40n)))],
      ]),
      sink,
      { layout: '1.13' },
    );
    const expected = torchBytes(`
buf = io.BytesIO(); torch.save({'d': torch.tensor([0.5, -1], dtype=torch.float64), 'l': torch.tensor([-2**40])}, buf); open(out, 'wb').write(buf.getvalue())`);
    expect(sameBytes(sink.bytes(), expected)).toBe('identical');
  });

  it('castFloating float16 writes what .half() of the same views writes', async () => {
    const st = new Storages();
    const s = st.storage('float32', Float32Array.of(0, 1, 2, 3, 4, 5));
    const sink = memorySink();
    await save([st.tensor(s, [2, 3], [3, 1]), st.tensor(s, [3, 2], [1, 3])], sink, {
      storageBytes: (x) => st.bytes.get(x)!,
      castFloating: 'float16',
      layout: '1.13',
    });
    const expected = torchBytes(`
h = torch.arange(6.).half().reshape(2, 3)
buf = io.BytesIO(); torch.save([h, h.t()], buf); open(out, 'wb').write(buf.getvalue())`);
    expect(sameBytes(sink.bytes(), expected)).toBe('identical');
  });

  it('to a path: prefix is the file stem, the file is torch.save(obj, path)', async () => {
    const dir = tempDir();
    await saveFile(new Map([['x', tf.tensor1d([1.5, 2.5])]]), join(dir, 'my.model.pt'), { layout: '1.13' });
    const expected = torchBytes(`
import os
p = os.path.join(os.path.dirname(out), 'my.model.pt')
torch.save({'x': torch.tensor([1.5, 2.5])}, p); open(out, 'wb').write(open(p, 'rb').read())`);
    expect(sameBytes(new Uint8Array(readFileSync(join(dir, 'my.model.pt'))), expected)).toBe('identical');
  });
});

describe('save to a path is atomic', () => {
  it('a failing storage read leaves the old file untouched and no temporary file behind', async () => {
    const dir = tempDir();
    const dest = join(dir, 'model.pt');
    writeFileSync(dest, 'old');
    const st = new Storages();
    const ok = st.tensor(st.storage('float32', new Float32Array(1 << 16)), [1 << 16], [1]);
    const bad = st.tensor(st.storage('float32', Float32Array.of(1)), [1], [1]);
    const storageBytes = (s: StorageRef): Uint8Array => {
      if (s === bad.storage) throw new Error('disk on fire');
      return st.bytes.get(s)!;
    };
    await expect(saveFile([ok, bad], dest, { storageBytes })).rejects.toThrow('disk on fire');
    expect(readFileSync(dest, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['model.pt']);
  });

  it('an unwritable directory fails with OUTPUT_IO and creates nothing', async () => {
    const dest = join(tempDir(), 'missing', 'model.pt');
    const err = await saveFile([], dest).catch((e: unknown) => e);
    expect(isCheckpointError(err) && err.code).toBe('OUTPUT_IO');
    expect(existsSync(dest)).toBe(false);
  });
});

describe('keepLocations', () => {
  it('writes each TF.js tensor’s device (cuda:0 bound to a second backend); the default writes cpu', async () => {
    const rt = await createDeviceRuntime({ bindings: { cuda: 'cpu-b' }, cuda: false });
    const onCuda = rt.place(Float32Array.of(1, 2), [2], 'float32', 'cuda:0');
    const onCpu = rt.place(Float32Array.of(3), [1], 'float32', 'cpu');
    const kept = memorySink();
    await save([onCuda, onCpu], kept, { keepLocations: true, runtime: rt });
    const plain = memorySink();
    await save([onCuda, onCpu], plain);
    const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
    expect(text(kept.bytes())).toContain('cuda:0');
    expect(text(plain.bytes())).not.toContain('cuda');
    await expect(save([onCuda], memorySink(), { keepLocations: true })).rejects.toThrow(/runtime/);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { createDeviceRuntime, isDeviceError, MetaTensor, type DeviceRuntime, type StorageInfo } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from './errors.js';
import { fixturePath, MANIFEST, manifestFixture, type ManifestTensor } from './testing/manifest.js';
import { sha256Hex } from './inspect.js';
import { type RawTensor, tensorInfo } from './tensors/materialise.js';
import { load, open } from './node.js';
import { fromBytes, type ByteSource } from './source.js';
import { runPython, tempDir, torchAvailable } from './testing/torch.js';
import { OrderedDict, type TensorRef } from './pickle/values.js';

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** TF.js bytes of a fixture's tensors: every dtype here lands as a 4-byte TF.js dtype (float32 or int32). */
const tfBytes = (tensors: ManifestTensor[]) => tensors.reduce((sum, t) => sum + numel(t.shape) * 4, 0);
const bytesOfValues = (t: tf.Tensor) => {
  const d = t.dataSync() as Float32Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isDeviceError(e) || isCheckpointError(e)) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

beforeAll(() => {
  // A second, independent cpu backend to stand in for a second GPU (packages/device/README.md).
  if (tf.findBackendFactory('cpu-b') === null) {
    tf.registerBackend('cpu-b', () => new MathBackendCPU(), 0);
    tf.copyRegisteredKernels('cpu', 'cpu-b');
  }
});

/** Every CUDA-tagged fixture of both torch versions, the 0.4-era legacy file among them. */
const CUDA_FIXTURES = MANIFEST.fixtures.filter((f) => f.torch_error !== undefined).map((f) => f.file);

describe('placement of CUDA-saved files (torch.load map_location rules)', () => {
  let rt: DeviceRuntime;
  beforeAll(async () => {
    rt = await createDeviceRuntime({ cuda: false });
  });

  for (const file of CUDA_FIXTURES) {
    it(`${file}: no mapLocation on a machine without CUDA fails with torch's text, creating nothing`, async () => {
      rt.ledger.reset();
      const before = rt.ledger.snapshot();
      const tensorsBefore = tf.engine().state.numTensors;
      const e = await failure(load(fixturePath(file), { runtime: rt }));
      expect(e.code).toBe('DEVICE_UNAVAILABLE');
      expect(e.message.startsWith(manifestFixture(file).torch_error!)).toBe(true);
      expect(e.message).toContain("mapLocation: 'cpu'");
      expect(rt.ledger.snapshot()).toEqual(before);
      expect(tf.engine().state.numTensors).toBe(tensorsBefore);
    });

    it(`${file}: mapLocation 'cpu' places exactly the tensors' bytes on cpu, nothing moved`, async () => {
      rt.ledger.reset();
      const { report, value } = await load<Map<string, tf.Tensor>>(fixturePath(file), {
        runtime: rt,
        mapLocation: 'cpu',
      });
      const tensors = manifestFixture(file).tensors;
      const bytes = tfBytes(tensors);
      expect(report.ledger.devices).toEqual({ cpu: { bytes, peak: bytes, tensors: tensors.length } });
      expect(report.ledger.bytesMoved).toBe(0);
      expect(report.ledger.copies).toBe(0);
      expect(report.tensors.map((t) => t.device)).toEqual(tensors.map(() => 'cpu'));
      for (const t of tensors) {
        if (t.dtype === 'float32')
          expect(await sha256Hex(bytesOfValues(value.get(t.path[0] as string)!))).toBe(t.sha256);
      }
    });
  }

  it("a { cuda: 'wasm' } runtime binding puts CUDA-saved storages on the wasm backend (no mapLocation)", async () => {
    const gpu = await createDeviceRuntime({ cuda: false, bindings: { cuda: 'wasm', 'cuda:1': 'cpu-b' } });
    const { value, report } = await load<Map<string, tf.Tensor>>(fixturePath('zip/cuda-mixed.pt'), { runtime: gpu });
    const expected = manifestFixture('zip/cuda-mixed.pt').tensors;
    expect(report.tensors.map((t) => [t.name, t.device])).toEqual(expected.map((t) => [t.path.join('.'), t.location]));
    for (const t of expected) {
      const placed = value.get(t.path[0] as string)!;
      expect(gpu.backendName(gpu.deviceOf(placed))).toBe(
        { 'cuda:0': 'wasm', 'cuda:1': 'cpu-b', cpu: 'cpu' }[t.location],
      );
    }
    const onDevice = (loc: string) => tfBytes(expected.filter((t) => t.location === loc));
    expect(report.ledger.devices['cuda:0']?.bytes).toBe(onDevice('cuda:0'));
    expect(report.ledger.devices['cuda:1']?.bytes).toBe(onDevice('cuda:1'));
    expect(report.ledger.devices['cpu']?.bytes).toBe(onDevice('cpu'));
    expect(report.ledger.bytesMoved).toBe(0);
  });

  it('record and function forms: exact tags only, callable sees every storage once', async () => {
    rt.ledger.reset();
    const partial = await failure(
      load(fixturePath('zip/cuda-mixed.pt'), { runtime: rt, mapLocation: { 'cuda:0': 'cpu' } }),
    );
    expect(partial.code).toBe('DEVICE_UNAVAILABLE'); // cuda:1 is not remapped
    expect(rt.ledger.snapshot().bytesPlaced).toBe(0);

    const full = await load(fixturePath('zip/cuda-mixed.pt'), {
      runtime: rt,
      mapLocation: { 'cuda:0': 'cpu', 'cuda:1': 'cpu' },
    });
    expect(new Set(full.report.tensors.map((t) => t.device))).toEqual(new Set(['cpu']));

    const seen: [string, string, number][] = [];
    const fn = (s: StorageInfo, saved: string) => {
      seen.push([s.key, saved, s.byteLength]);
      return saved.startsWith('cuda') ? 'cpu' : undefined;
    };
    await load(fixturePath('zip/cuda-mixed.pt'), { runtime: rt, mapLocation: fn });
    const itemSize = { float32: 4, int64: 8 } as Record<string, number>;
    const storages = new Map(
      manifestFixture('zip/cuda-mixed.pt').tensors.map((t) => [
        t.storage!.key,
        [t.location, t.storage!.numel * itemSize[t.dtype]!] as const,
      ]),
    );
    expect(seen).toEqual([...storages].map(([key, [loc, bytes]]) => [key, loc, bytes]));
  });
});

describe('dtype modes and the report', () => {
  const dtypes = manifestFixture('zip/dtypes.pt').tensors;

  it('convert: reports every conversion; float16 is tagged float16 for writers', async () => {
    const { value, report } = await load<Map<string, tf.Tensor>>(fixturePath('zip/dtypes.pt'), { mapLocation: 'cpu' });
    const byName = new Map(report.conversions.map((c) => [c.name, c]));
    expect(byName.get('float16')).toMatchObject({ from: 'float16', to: 'float32', lossy: undefined, step: 'widened' });
    expect(byName.get('float64')).toMatchObject({ from: 'float64', to: 'float32', step: 'narrowed' });
    expect(byName.get('float64')?.lossy).toMatch(/rounded/);
    expect(byName.has('float32')).toBe(false);
    expect(tensorInfo(value.get('float16')!)?.torchDType).toBe('float16');
    expect(report.tensors.map((t) => t.torchDType)).toEqual(dtypes.map((t) => t.dtype));
    expect(await sha256Hex(bytesOfValues(value.get('float32')!))).toBe(
      dtypes.find((t) => t.dtype === 'float32')!.sha256,
    );
  });

  it('strict: fails on the float64 tensor and leaves nothing placed', async () => {
    const rt = await createDeviceRuntime({ cuda: false });
    const e = await failure(load(fixturePath('zip/dtypes.pt'), { runtime: rt, mapLocation: 'cpu', dtype: 'strict' }));
    expect(e.code).toBe('TENSOR_LOSSY_DTYPE');
    expect(e.message).toContain('"float64"');
    expect(rt.ledger.snapshot().devices['cpu']?.bytes ?? 0).toBe(0);
  });

  it('raw: the original elements, whose sha256 is torch’s', async () => {
    const { value } = await load<Map<string, RawTensor>>(fixturePath('zip/dtypes.pt'), {
      mapLocation: 'cpu',
      dtype: 'raw',
    });
    expect(value.get('float64')!.data).toBeInstanceOf(Float64Array);
    expect(value.get('int64')!.data).toBeInstanceOf(BigInt64Array);
    expect(value.get('float16')!.data).toBeInstanceOf(Uint16Array);
    for (const t of dtypes) {
      const raw = value.get(t.path[0] as string)!;
      expect(raw.dtype).toBe(t.dtype);
      expect(await sha256Hex(new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength)), t.dtype).toBe(
        t.sha256,
      );
    }
  });
});

describe('structure and storage sharing', () => {
  it('views of one storage share one read; the same object stays the same object', async () => {
    const bytes = readFileSync(fixturePath('zip/views.pt'));
    const reads: number[] = [];
    const inner = fromBytes(bytes);
    const counting: ByteSource = {
      size: inner.size,
      name: 'views.pt',
      read: (o, n) => (reads.push(n), inner.read(o, n)),
    };
    const progress: number[] = [];
    const { value, report } = await load<Map<string, tf.Tensor>>(counting, {
      mapLocation: 'cpu',
      onProgress: (p) => progress.push(p.tensorsDone),
    });
    const tensors = manifestFixture('zip/views.pt').tensors;
    const storages = new Map(tensors.map((t) => [t.storage!.key, t.storage!.numel * 4]));
    expect(report.bytesRead).toBe([...storages.values()].reduce((a, b) => a + b, 0));
    expect(value.get('same_object')).toBe(value.get('base'));
    for (const t of tensors)
      expect(await sha256Hex(bytesOfValues(value.get(t.path[0] as string)!)), String(t.path)).toBe(t.sha256);
    expect(progress).toEqual(tensors.map((_, i) => i + 1));
  });

  it('returns the torch.load structure: OrderedDict with _metadata, int keys, bigints', async () => {
    const { value } = await load<Map<string, unknown>>(fixturePath('zip/training-checkpoint.pt'), {
      mapLocation: 'cpu',
    });
    expect(value.get('epoch')).toBe(3);
    const model = value.get('model') as OrderedDict<string, tf.Tensor>;
    expect(model).toBeInstanceOf(OrderedDict);
    expect([...model.keys()]).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(model.metadata?.get('0')?.get('version')).toBe(1);
    const state = (value.get('optimizer') as Map<string, Map<number, Map<string, tf.Tensor>>>).get('state')!;
    expect(state.get(0)!.get('exp_avg')!.shape).toEqual([8, 4]);
  });

  it('meta: meta tensors stay meta; mapLocation meta reads no storage', async () => {
    const { value } = await load<Map<string, unknown>>(fixturePath('zip/meta.pt'), { mapLocation: 'cpu' });
    expect(value.get('weight')).toBeInstanceOf(MetaTensor);
    expect((value.get('cpu') as tf.Tensor).shape).toEqual([3]);
    const onMeta = await load<Map<string, unknown>>(fixturePath('zip/meta.pt'), { mapLocation: 'meta' });
    expect(onMeta.report.bytesRead).toBe(0);
    expect(onMeta.value.get('cpu')).toBeInstanceOf(MetaTensor);
  });

  it('quantized tensors are dequantized and reported', async () => {
    const { value, report } = await load<Map<string, tf.Tensor>>(fixturePath('zip/quantized.pt'), {
      mapLocation: 'cpu',
    });
    const q = (
      await load<Map<string, RawTensor>>(fixturePath('zip/quantized.pt'), { mapLocation: 'cpu', dtype: 'raw' })
    ).value.get('per_tensor')!;
    // manifest: per_tensor is quint8 with scale 0.1, zero_point 10
    expect(Array.from(value.get('per_tensor')!.dataSync())).toEqual(
      Array.from(q.data as Uint8Array, (v) => Math.fround((v - 10) * 0.1)),
    );
    expect(report.conversions.map((c) => [c.name, c.from, c.to])).toEqual([
      ['per_tensor', 'quint8', 'float32'],
      ['per_channel', 'qint8', 'float32'],
      ['qint32', 'qint32', 'float32'],
    ]);
  });
});

describe('widening in place: a storage one tensor uses is converted in its own read buffer', () => {
  const needTorch = torchAvailable || process.env.CI !== undefined;
  let file = '';
  let reference = new Map<string, tf.Tensor>();
  const bits = (t: tf.Tensor) => Buffer.from(bytesOfValues(t));
  /** Byte-equal (a Buffer comparison: toEqual on 400 kB arrays is slow). */
  const same = (a: Uint8Array, b: Uint8Array) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  /** `file` as a source whose `readInto` targets are recorded. */
  const recorded = (targets: Uint8Array[]): ByteSource => {
    const inner = fromBytes(readFileSync(file));
    return {
      size: inner.size,
      name: 'w.pt',
      read: (o, n) => inner.read(o, n),
      readInto: async (target, o) => {
        targets.push(target);
        target.set(await inner.read(o, target.length));
      },
    };
  };

  beforeAll(async () => {
    if (!needTorch) return;
    const dir = tempDir();
    runPython(
      String.raw`
import sys, torch
g = torch.Generator().manual_seed(0)
shared = torch.randn(40000, generator=g).half()
sd = {
    'half': (torch.randn(300, 257, generator=g) * 3).half(),
    'bf16': torch.randn(70001, generator=g).bfloat16(),
    'int8': torch.randint(-128, 128, (100003,), generator=g, dtype=torch.int8),
    'int16': torch.randint(-32768, 32767, (50001,), generator=g, dtype=torch.int16),
    'shared_a': shared,
    'shared_b': shared[1:],
    'small': torch.tensor([1.5, -2, 65504, 6e-8], dtype=torch.half),
}
torch.save(sd, sys.argv[1] + '/w.pt')
torch.save({k: v.int() if v.dtype in (torch.int8, torch.int16) else v.float() for k, v in sd.items()}, sys.argv[1] + '/ref.pt')
`,
      [dir],
    );
    file = join(dir, 'w.pt');
    reference = (await load<Map<string, tf.Tensor>>(join(dir, 'ref.pt'), { mapLocation: 'cpu' })).value;
  });

  it.skipIf(!needTorch)(
    "load: torch's float32/int32 values, written over the narrow bytes read into the back of the buffer",
    async () => {
      const targets: Uint8Array[] = [];
      const { value, report } = await load<Map<string, tf.Tensor>>(recorded(targets), { mapLocation: 'cpu' });
      for (const [name, want] of reference) expect(same(bits(value.get(name)!), bits(want)), name).toBe(true);
      expect(report.bytesRead).toBe(2 * 300 * 257 + 2 * 70001 + 100003 + 2 * 50001 + 2 * 40000 + 2 * 4);
      // read into the back of a result-sized buffer, then converted there: the whole buffer now holds the result
      const widened = ['int16', 'bf16', 'half', 'int8']; // by result size, as the targets are sorted below
      const buffers = targets.map((t) => new Uint8Array(t.buffer)).sort((x, y) => x.length - y.length);
      expect(buffers.map((b) => b.length)).toEqual(widened.map((n) => bits(reference.get(n)!).length));
      buffers.forEach((b, i) => {
        expect(same(b, bits(reference.get(widened[i]!)!)), widened[i]).toBe(true);
      });
    },
  );

  it.skipIf(!needTorch)(
    'a storage two tensors use, raw mode, concurrent and repeated reads are never overwritten',
    async () => {
      const ckpt = await open(recorded([]), { mapLocation: 'cpu' });
      const storage = (ckpt.entry('half').ref as TensorRef).storage;
      const original = new Uint8Array(await ckpt.storage(storage)); // a copy
      const held = ckpt.storage(storage); // a caller holding these bytes while the tensor is made
      const [a, b] = (await Promise.all([ckpt.tensor('half'), ckpt.tensor('half')])) as tf.Tensor[];
      expect(same(bits(a!), bits(reference.get('half')!))).toBe(true);
      expect(same(bits(b!), bits(reference.get('half')!))).toBe(true);
      expect(same(await held, original)).toBe(true);
      expect(same(bits((await ckpt.tensor('half')) as tf.Tensor), bits(reference.get('half')!))).toBe(true);
      const raw = (await ckpt.tensor('half', { dtype: 'raw' })) as RawTensor;
      expect(same(new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength), original)).toBe(true);
      const [x, y] = (await Promise.all([ckpt.tensor('shared_b'), ckpt.tensor('shared_a')])) as tf.Tensor[];
      expect(same(bits(x!), bits(reference.get('shared_b')!))).toBe(true);
      expect(same(bits(y!), bits(reference.get('shared_a')!))).toBe(true);
      await ckpt.close();
    },
  );
});

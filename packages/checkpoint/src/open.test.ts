import type { Tensor } from '@tensorflow/tfjs-core';
import { createDeviceRuntime, isDeviceError, type DeviceRuntime } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from './errors.js';
import { fixturePath, manifestFixture } from './testing/manifest.js';
import { sha256Hex } from './inspect.js';
import { open } from './node.js';

const ITEM: Record<string, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  complex64: 8,
  complex128: 16,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};
const bytesOf = (t: Tensor) => {
  const d = t.dataSync() as Float32Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

describe('open: a lazy handle', () => {
  let rt: DeviceRuntime;
  beforeAll(async () => {
    rt = await createDeviceRuntime({ cuda: false });
  });

  it('lists names, dtypes, shapes, locations and sizes without reading tensor data', async () => {
    const ckpt = await open(fixturePath('zip/dtypes.pt'), { runtime: rt });
    const expected = manifestFixture('zip/dtypes.pt').tensors;
    expect(ckpt.format).toBe('zip');
    expect(ckpt.names).toEqual(expected.map((t) => t.path.join('.')));
    expect(ckpt.entries.map((e) => [e.dtype, e.shape, e.location, e.byteLength])).toEqual(
      expected.map((t) => [t.dtype, t.shape, t.location, t.shape.reduce((a, b) => a * b, 1) * ITEM[t.dtype]!]),
    );
    expect(ckpt.bytesRead).toBe(0);
    await ckpt.close();
  });

  it('tensor(name) reads only its own storage', async () => {
    const ckpt = await open(fixturePath('zip/dtypes.pt'), { runtime: rt, mapLocation: 'cpu' });
    const t = (await ckpt.tensor('float32')) as Tensor;
    const float32 = manifestFixture('zip/dtypes.pt').tensors.find((m) => m.dtype === 'float32')!;
    expect(ckpt.bytesRead).toBe(float32.storage!.numel * 4);
    expect(await sha256Hex(bytesOf(t))).toBe(float32.sha256);
    await ckpt.close();
  });

  it('concurrent views of one storage share a single read', async () => {
    const ckpt = await open(fixturePath('zip/views.pt'), { runtime: rt, mapLocation: 'cpu' });
    const [base, transposed] = (await Promise.all([ckpt.tensor('base'), ckpt.tensor('transposed')])) as Tensor[];
    const views = manifestFixture('zip/views.pt').tensors;
    expect(ckpt.bytesRead).toBe(views[0]!.storage!.numel * 4);
    expect(await sha256Hex(bytesOf(transposed!))).toBe(views.find((v) => v.path[0] === 'transposed')!.sha256);
    expect(base!.shape).toEqual([24]);
    await ckpt.close();
  });

  it('places a CUDA-saved tensor only where asked; the device option overrides mapLocation', async () => {
    const ckpt = await open(fixturePath('zip/cuda0.pt'), { runtime: rt });
    const e = await ckpt.tensor('weight').catch((err: unknown) => err);
    expect(isDeviceError(e) && e.code).toBe('DEVICE_UNAVAILABLE');
    expect(ckpt.bytesRead).toBe(0);
    const w = (await ckpt.tensor('weight', { device: 'wasm' })) as Tensor;
    expect(rt.backendName(rt.deviceOf(w))).toBe('wasm');
    await ckpt.close();
  });

  it('unknown names and closed handles fail with codes', async () => {
    const ckpt = await open(fixturePath('zip/linear.pt'), { runtime: rt });
    const unknown = await ckpt.tensor('nope').catch((err: unknown) => err);
    expect(isCheckpointError(unknown) && unknown.code).toBe('STORAGE_MISSING');
    await ckpt.close();
    const closed = await ckpt.tensor('weight').catch((err: unknown) => err);
    expect(isCheckpointError(closed) && closed.code).toBe('SOURCE_IO');
  });

  it('opens a sharded index by path, with its shards beside it', async () => {
    const ckpt = await open(fixturePath('sharded/pytorch_model.bin.index.json'), { runtime: rt, mapLocation: 'cpu' });
    const expected = manifestFixture('sharded/pytorch_model.bin.index.json').tensors;
    expect(new Set(ckpt.names)).toEqual(new Set(expected.map((t) => t.path.join('.'))));
    for (const t of expected)
      expect(await sha256Hex(bytesOf((await ckpt.tensor(t.path.join('.'))) as Tensor))).toBe(t.sha256);
    await ckpt.close();
  });
});

import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { device } from './device.js';
import { resolveLocation } from './map-location.js';
import { MetaTensor, createDeviceRuntime, type DeviceRuntime } from './runtime.js';
import { errorOf } from './testing/errors.js';

/** torch 1.13's texts (torch/serialization.py `validate_cuda_device`; the first verified by running torch.load on this CPU-only machine). */
const TORCH_NO_CUDA =
  "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. If you are running on a CPU-only machine, please use torch.load with map_location=torch.device('cpu') to map your storages to the CPU.";
const torchCudaIndex = (i: number, n: number) =>
  `Attempting to deserialize object on CUDA device ${i} but torch.cuda.device_count() is ${n}. Please use torch.load with map_location to map your storages to an existing device.`;

const storage = (location: string) => ({ key: '0', dtype: 'float32' as const, numel: 6, byteLength: 24, location });

beforeAll(() => {
  // A second, independent CPU backend, and a fake tfjs-node-gpu backend name.
  for (const name of ['cpu-b', 'cpu-unbound', 'tensorflow']) {
    tf.registerBackend(name, () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: fakeGpu }), 0);
    tf.copyRegisteredKernels('cpu', name);
  }
});
let fakeGpu = false;

describe('CUDA peer absent (@tensorflow/tfjs-node-gpu is not installable here)', () => {
  let rt: DeviceRuntime;
  beforeAll(async () => {
    rt = await createDeviceRuntime();
  });

  it('cuda is unavailable and says so with torch text + the mapLocation fix', () => {
    expect(rt.isAvailable('cuda')).toBe(false);
    expect(rt.deviceCount('cuda')).toBe(0);
    expect(rt.backendName('cuda:0')).toBeUndefined();
    const e = errorOf(() => rt.check('cuda:0'));
    expect(e.code).toBe('DEVICE_UNAVAILABLE');
    expect(e.message.startsWith(TORCH_NO_CUDA)).toBe(true);
    expect(e.message).toContain("mapLocation: 'cpu'");
    expect(e.message).toContain("mapLocation: { 'cuda:0': 'cpu' }");
    expect(String(e.details?.['reason'])).toContain('@tensorflow/tfjs-node-gpu could not be loaded');
    expect(e.message.length).toBeLessThanOrEqual(512);
  });

  it('torch.load default restore of a cuda:0 storage fails; mapLocation fixes it', () => {
    expect(() => rt.check(resolveLocation(undefined, storage('cuda:0')))).toThrow(TORCH_NO_CUDA);
    expect(String(rt.check(resolveLocation({ 'cuda:0': 'cpu' }, storage('cuda:0'))))).toBe('cpu');
    expect(String(rt.check(resolveLocation('cpu', storage('cuda:1'))))).toBe('cpu');
  });

  it('cpu, wasm and meta are available by default; cpu never means cuda', () => {
    expect(rt.backendName('cpu')).toBe('cpu');
    expect(rt.backendName('wasm')).toBe('wasm');
    expect(String(rt.check('wasm'))).toBe('wasm:0');
    expect(String(rt.check('cpu:0'))).toBe('cpu'); // torch 1.13: torch.zeros(1, device='cpu:0').device == cpu
    expect(String(rt.check('meta'))).toBe('meta');
    expect(rt.isAvailable('webgpu')).toBe(false);
    expect(errorOf(() => rt.check('mps')).message).toContain(
      "Device 'mps' is not available: no TF.js backend is bound to mps",
    );
  });

  it('memory: cpu total is os.totalmem(); wasm total is the 4 GiB heap cap; used comes from the ledger', () => {
    expect(rt.memory('cpu')).toEqual({ total: totalmem(), used: 0 });
    const t = rt.place(new Float32Array(10), [10], 'float32', 'wasm');
    expect(rt.memory('wasm')).toEqual({ total: 4 * 2 ** 30, used: 10 * 4 });
    rt.dispose(t);
    expect(rt.memory('wasm').used).toBe(0);
  });

  it('cuda: false never loads the peer', async () => {
    const off = await createDeviceRuntime({ cuda: false });
    expect(errorOf(() => off.check('cuda')).details?.['reason']).toBeUndefined();
  });
});

describe('CUDA peer present (fake loader registering the "tensorflow" backend)', () => {
  it('a GPU reported by isUsingGpuDevice makes cuda:0 available and cuda:1 fail like torch', async () => {
    fakeGpu = true;
    await tf.setBackend('cpu');
    const rt = await createDeviceRuntime({
      loadCuda: async () => {
        await tf.setBackend('tensorflow'); // the real peer activates its backend on import
      },
    });
    expect(tf.getBackend()).toBe('cpu');
    expect(rt.deviceCount('cuda')).toBe(1);
    expect(rt.backendName('cuda')).toBe('tensorflow');
    expect(String(rt.check('cuda'))).toBe('cuda:0');
    expect(errorOf(() => rt.check('cuda:1')).message.startsWith(torchCudaIndex(1, 1))).toBe(true);
    tf.removeBackend('tensorflow');
  });

  it('libtensorflow on the CPU (isUsingGpuDevice false) is NOT cuda', async () => {
    fakeGpu = false;
    tf.registerBackend('tensorflow', () => Object.assign(new MathBackendCPU(), { isUsingGpuDevice: false }), 0);
    const rt = await createDeviceRuntime({ loadCuda: async () => undefined });
    expect(rt.isAvailable('cuda')).toBe(false);
    expect(String(errorOf(() => rt.check('cuda')).details?.['reason'])).toContain('isUsingGpuDevice is false');
    tf.removeBackend('tensorflow');
  });
});

describe('cuda stood in by wasm and a second cpu backend: real placement on several backends', () => {
  let rt: DeviceRuntime;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    rt = await createDeviceRuntime({ bindings: { cuda: 'wasm', 'cuda:1': 'cpu-b' }, cuda: false });
  });

  it('binds cuda:0 -> wasm, cuda:1 -> cpu-b; cuda:2 fails with torch text; wasm is no longer its own device', () => {
    expect(rt.deviceCount('cuda')).toBe(2);
    expect(rt.backendName('cuda')).toBe('wasm');
    expect(rt.backendName('cuda:1')).toBe('cpu-b');
    expect(errorOf(() => rt.check('cuda:2')).message.startsWith(torchCudaIndex(2, 2))).toBe(true);
    expect(rt.isAvailable('wasm')).toBe(false);
  });

  it('tensors live on three backends at once, with deviceOf and values right, active backend untouched', async () => {
    const a = rt.place(new Float32Array([1.5, -2, 3]), [3], 'float32', 'cpu');
    const b = rt.place(new Int32Array([4, -5]), [2], 'int32', 'cuda:0');
    const c = rt.place(new Uint8Array([1, 0, 1]), [3], 'bool', 'cuda:1');
    expect(tf.getBackend()).toBe('cpu');
    expect([a, b, c].map((t) => String(rt.deviceOf(t)))).toEqual(['cpu', 'cuda:0', 'cuda:1']);
    const info = (t: tf.Tensor) => tf.engine().state.tensorInfo.get(t.dataId)?.backend;
    expect(info(b as tf.Tensor)).toBe(tf.findBackend('wasm'));
    expect(info(c as tf.Tensor)).toBe(tf.findBackend('cpu-b'));
    expect(Array.from(await (a as tf.Tensor).data())).toEqual([1.5, -2, 3]);
    expect(Array.from(await (b as tf.Tensor).data())).toEqual([4, -5]);
    expect(Array.from(await (c as tf.Tensor).data())).toEqual([1, 0, 1]);
    for (const t of [a, b, c]) rt.dispose(t);
  });

  it('to() copies between devices and the ledger adds up', async () => {
    rt.ledger.reset();
    const a = rt.place(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'float32', 'cpu'); // 6 x 4 B = 24 B on cpu
    expect(rt.to(a, 'cpu')).toBe(a); // already there: same object, nothing moved
    const b = rt.to(a, 'cuda:0') as tf.Tensor; // copy 24 B cpu -> cuda:0
    const c = rt.to(b, 'cuda:1') as tf.Tensor; // copy 24 B cuda:0 -> cuda:1
    expect(String(rt.deviceOf(b))).toBe('cuda:0');
    expect(String(rt.deviceOf(c))).toBe('cuda:1');
    expect(b.shape).toEqual([2, 3]);
    expect(Array.from(await c.data())).toEqual([1, 2, 3, 4, 5, 6]);
    rt.dispose(a); // cpu back to 0 B, its peak stays 24 B
    expect(rt.ledger.snapshot()).toEqual({
      devices: {
        cpu: { bytes: 0, peak: 24, tensors: 0 },
        'cuda:0': { bytes: 24, peak: 24, tensors: 1 },
        'cuda:1': { bytes: 24, peak: 24, tensors: 1 },
      },
      copies: 2, // cpu -> cuda:0, cuda:0 -> cuda:1
      bytesMoved: 24 + 24,
      bytesPlaced: 24 * 3, // the original + two copies
    });
    rt.dispose(b);
    rt.dispose(c);
    expect(rt.ledger.snapshot().devices['cuda:1']).toEqual({ bytes: 0, peak: 24, tensors: 0 });
  });

  it('a copy does not alias its source (cpu -> second cpu backend)', async () => {
    const src = new Float32Array([1, 2]);
    const a = rt.place(src, [2], 'float32', 'cpu') as tf.Tensor;
    const b = rt.to(a, 'cuda:1') as tf.Tensor;
    src[0] = 99; // the cpu backend keeps `src` by reference (tfjs-backend-cpu `write` stores the array as given)
    expect(Array.from(await a.data())).toEqual([99, 2]);
    expect(Array.from(await b.data())).toEqual([1, 2]);
    rt.dispose(a);
    rt.dispose(b);
  });

  it('complex64 works on cpu backends and is refused by wasm (no Complex kernel)', async () => {
    const z = rt.place(new Float32Array([1, 2, 3, 4]), [2], 'complex64', 'cpu') as tf.Tensor;
    expect(z.dtype).toBe('complex64');
    expect(Array.from(await z.data())).toEqual([1, 2, 3, 4]);
    const z1 = rt.to(z, 'cuda:1') as tf.Tensor;
    expect(Array.from(await z1.data())).toEqual([1, 2, 3, 4]);
    expect(errorOf(() => rt.to(z, 'cuda:0')).code).toBe('DTYPE_UNSUPPORTED');
    rt.dispose(z);
    rt.dispose(z1);
  });

  it('meta tensors hold shape and dtype only', () => {
    rt.ledger.reset();
    const m = rt.place(new Float32Array(6), [2, 3], 'float32', 'meta');
    expect(m).toBeInstanceOf(MetaTensor);
    expect(String(rt.deviceOf(m))).toBe('meta');
    expect((m as MetaTensor).size).toBe(6);
    expect(errorOf(() => rt.to(m, 'cpu')).message.startsWith('Cannot copy out of meta tensor; no data!')).toBe(true);
    const t = rt.place(new Int32Array([1, 2]), [2], 'int32', 'cuda:0');
    const tm = rt.to(t, 'meta') as MetaTensor;
    expect([tm.shape, tm.dtype, String(tm.device)]).toEqual([[2], 'int32', 'meta']);
    expect(rt.ledger.snapshot().devices['meta']).toEqual({ bytes: 0, peak: 0, tensors: 2 });
    expect(rt.ledger.snapshot().copies).toBe(0);
    rt.dispose(t);
  });

  it('deviceOf fails for data on an unbound backend and for disposed tensors', () => {
    const onCpu = rt.place(new Float32Array([1]), [1], 'float32', 'cpu') as tf.Tensor;
    const stray = tf.engine().makeTensor(new Float32Array([1]), [1], 'float32', tf.findBackend('cpu-unbound'));
    rt.dispose(onCpu);
    expect(errorOf(() => rt.deviceOf(onCpu)).message).toBe('Tensor is disposed.');
    expect(errorOf(() => rt.deviceOf(stray))).toMatchObject({
      code: 'BACKEND_UNBOUND',
      details: { backend: 'cpu-unbound' },
    });
    stray.dispose();
  });

  it('rejects values that do not match the shape', () => {
    expect(errorOf(() => rt.place(new Float32Array(5), [2, 3], 'float32', 'cpu')).code).toBe('SHAPE_MISMATCH');
  });
});

describe('bindings validation', () => {
  it.each([
    [{ 'cuda:1': 'wasm' }, 'cuda:0 is missing'],
    [{ cuda: 'cpu-b', xpu: 'cpu-b' }, "backend 'cpu-b' is bound to both cuda:0 and xpu:0"],
    [{ cuda: 'nope' }, "no TF.js backend named 'nope' is registered"],
    [{ meta: 'cpu-b' }, "'meta' holds no data"],
    [{ 'cpu:1': 'cpu-b' }, 'cpu has one device'],
  ])('%j -> DEVICE_INVALID %s', async (bindings, text) => {
    await expect(createDeviceRuntime({ bindings, cuda: false })).rejects.toThrow(text);
  });

  it('binding keys use the device grammar', async () => {
    await expect(createDeviceRuntime({ bindings: { 'cuda:01': 'wasm' } })).rejects.toThrow(
      "Invalid device string: 'cuda:01'",
    );
    expect(device('cuda').equals('cuda')).toBe(true);
  });
});

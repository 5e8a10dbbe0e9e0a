import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs-core';
import { createDeviceRuntime, toTensorData, type TorchDType } from '@x/device';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WorkerConverter } from './convert-workers.js';
import { loadCheckpoint } from '../load.js';
import { load } from '../node.js';
import { resolveNodeSource } from '../node/read.js';
import { openResolved } from '../open.js';
import type { WideningConverter } from './materialise.js';
import { runPython, tempDir, torchAvailable } from '../testing/torch.js';
import type { TensorRef } from '../pickle/values.js';

/** The built worker script (`npx tsc -b` runs before the tests; vitest cannot run a .ts worker). */
const workerUrl = new URL('../../dist/tensors/convert-worker.js', import.meta.url);
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const valuesOf = (t: tf.Tensor) => t.dataSync() as Float32Array | Int32Array;

describe('TF.js and shared memory', () => {
  it('the cpu backend takes a Float32Array on a SharedArrayBuffer as tensor data (no copy) and computes with it', async () => {
    const rt = await createDeviceRuntime({ cuda: false });
    await rt.tf.setBackend('cpu');
    const values = new Float32Array(new SharedArrayBuffer(16));
    values.set([1, 2, 3, 4]);
    const t = rt.place(values, [2, 2], 'float32', 'cpu') as tf.Tensor;
    expect(t.dataSync().buffer).toBe(values.buffer);
    // [[1, 2], [3, 4]] squared as a matrix: [[1*1 + 2*3, 1*2 + 2*4], [3*1 + 4*3, 3*2 + 4*4]]
    expect([...rt.tf.matMul(t, t).dataSync()]).toEqual([7, 10, 15, 22]);
    expect([...rt.tf.add(t, t).dataSync()]).toEqual([2, 4, 6, 8]);
    rt.dispose(t);
  });

  it('WebCrypto refuses views of shared memory (why tensors widened on workers need a copy before digest)', async () => {
    await expect(
      crypto.subtle.digest('SHA-256', new Uint8Array(new SharedArrayBuffer(4)) as unknown as Uint8Array<ArrayBuffer>),
    ).rejects.toThrow(/SharedArrayBuffer/);
  });
});

describe('WorkerConverter', () => {
  const converter = new WorkerConverter({ workerUrl, minBytes: 1 });
  beforeAll(async () => expect(await converter.start()).toBe(converter.threads));
  afterAll(() => converter.terminate());

  /** `elements` (little-endian bytes of `dtype`) widened on a worker, read into the back of its buffer at element `skip`. */
  async function onWorker(
    c: WorkerConverter,
    elements: Uint8Array,
    dtype: TorchDType,
    itemSize: number,
    skip = 0,
  ): Promise<Float32Array | Int32Array> {
    const storageBytes = elements.length + skip * itemSize;
    const buffer = c.allocate((storageBytes / itemSize) * (dtype === 'complex32' ? 8 : 4), storageBytes, dtype)!;
    expect(buffer).toBeInstanceOf(SharedArrayBuffer);
    const back = new Uint8Array(buffer, buffer.byteLength - elements.length, elements.length);
    back.set(elements);
    expect(c.accepts(back, dtype)).toBe(true);
    const { values } = await c.widen(back, dtype);
    // in place: the result lies in the allocated memory (seen here through another SharedArrayBuffer object)
    expect(bytesOf(new Uint8Array(buffer, values.byteOffset, values.byteLength)).equals(bytesOf(values))).toBe(true);
    expect(values.byteOffset + values.byteLength).toBe(buffer.byteLength);
    return values as Float32Array | Int32Array;
  }

  /** The main thread's conversion of the same bytes (a fresh copy, no overwrite). */
  const onMain = (elements: Uint8Array, dtype: TorchDType) => toTensorData(elements.slice(), dtype, 'convert').values;

  // every 16-bit pattern, in ascending order (little-endian), repeated `times`
  const patterns16 = (times: number) => {
    const p = new Uint16Array(65536 * times);
    for (let i = 0; i < p.length; i++) p[i] = i & 0xffff;
    return new Uint8Array(p.buffer);
  };
  const patterns8 = (times: number) => Uint8Array.from({ length: 256 * times }, (_, i) => i & 0xff);

  it.each([
    ['float16', 2],
    ['bfloat16', 2],
    ['int16', 2],
    ['uint16', 2],
    ['complex32', 4],
  ] as const)(
    '%s: all 65,536 bit patterns widen on a worker bit for bit as on the main thread, at several sizes and offsets',
    async (dtype, itemSize) => {
      for (const [times, trim, skip] of [
        [1, 0, 0],
        [3, 2, 1],
        [2, 6, 3],
        [1, 65534, 0],
      ] as const) {
        const all = patterns16(times);
        const elements = all.subarray(0, all.length - trim);
        if (elements.length % itemSize !== 0) continue;
        const ours = await onWorker(converter, elements, dtype, itemSize, skip);
        expect(ours.length).toBe((elements.length / itemSize) * (dtype === 'complex32' ? 2 : 1));
        expect(bytesOf(ours).equals(bytesOf(onMain(elements, dtype))), `${dtype} ×${times} -${trim} +${skip}`).toBe(
          true,
        );
      }
    },
  );

  it.each(['int8', 'uint8', 'float8_e4m3fn', 'float8_e5m2'] as const)(
    '%s: all 256 codes widen on a worker as on the main thread',
    async (dtype) => {
      for (const times of [1, 7]) {
        const elements = patterns8(times);
        const ours = await onWorker(converter, elements, dtype, 1, times);
        expect(bytesOf(ours).equals(bytesOf(onMain(elements, dtype)))).toBe(true);
      }
    },
  );

  it('many conversions in flight at once: each finishes, in its own buffer', async () => {
    const jobs = Array.from({ length: 9 }, (_, i) => patterns16(1 + (i % 3)));
    const results = await Promise.all(jobs.map((e) => onWorker(converter, e, 'float16', 2)));
    for (const [i, r] of results.entries()) expect(bytesOf(r).equals(bytesOf(onMain(jobs[i]!, 'float16')))).toBe(true);
  });

  it('takes only what it allocated, above minBytes, of a dtype that widens', () => {
    const c = new WorkerConverter({ workerUrl, minBytes: 1024 });
    expect(c.allocate(4096, 2048, 'float32')).toBeUndefined(); // nothing to widen
    expect(c.allocate(2044, 1022, 'float16')).toBeUndefined(); // under minBytes
    expect(new WorkerConverter({ threads: 0 }).allocate(4096, 2048, 'float16')).toBeUndefined();
    const mine = c.allocate(4096, 2048, 'float16')!;
    expect(c.accepts(new Uint8Array(mine, 2048), 'float16')).toBe(true);
    expect(c.accepts(new Uint8Array(mine, 3074), 'float16')).toBe(false); // a view under minBytes
    expect(c.accepts(new Uint8Array(new SharedArrayBuffer(4096), 2048), 'float16')).toBe(false); // not its buffer
    expect(c.accepts(new Uint8Array(4096), 'float16')).toBe(false);
  });

  it('converts on the calling thread until the workers are up, and when none starts, with the same result', async () => {
    const posted = vi.spyOn(Worker.prototype, 'postMessage');
    const booting = new WorkerConverter({ workerUrl, minBytes: 1 });
    const elements = patterns16(1);
    expect(bytesOf(await onWorker(booting, elements, 'float16', 2)).equals(bytesOf(onMain(elements, 'float16')))).toBe(
      true,
    );
    expect(posted).not.toHaveBeenCalled();
    await booting.terminate();
    const c = new WorkerConverter({ workerUrl: new URL('./no-such-worker.js', workerUrl), minBytes: 1 });
    expect(await c.start()).toBe(0);
    expect(bytesOf(await onWorker(c, elements, 'bfloat16', 2)).equals(bytesOf(onMain(elements, 'bfloat16')))).toBe(
      true,
    );
  });

  it('a worker that dies during a conversion fails that conversion (its buffer is lost)', async () => {
    const script = join(tempDir(), 'dies.mjs');
    writeFileSync(
      script,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\nparentPort.postMessage({ ready: true });\n",
    );
    const c = new WorkerConverter({ workerUrl: pathToFileURL(script), threads: 1, minBytes: 1 });
    expect(await c.start()).toBe(1);
    const buffer = c.allocate(8, 4, 'float16')!;
    await expect(c.widen(new Uint8Array(buffer, 4), 'float16')).rejects.toThrow('conversion worker exited with code 3');
    await c.terminate();
  });

  it('idle workers do not keep a process alive', () => {
    const script = `
      import { WorkerConverter } from ${JSON.stringify(new URL('../../dist/tensors/convert-workers.js', import.meta.url).href)};
      const c = new WorkerConverter({ minBytes: 1 });
      const buffer = c.allocate(8, 4, 'float16');
      await c.start();
      new Uint16Array(buffer, 4, 2).set([0x3c00, 0xc000]);
      const { values } = await c.widen(new Uint8Array(buffer, 4), 'float16');
      console.log(JSON.stringify([...values]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('[1,-2]'); // 0x3c00 = 1.0, 0xc000 = -2.0 in IEEE half
  });
});

describe('load with worker threads', () => {
  const needTorch = torchAvailable || process.env.CI !== undefined;
  let dir = '';
  let reference = new Map<string, tf.Tensor>();
  const converter = new WorkerConverter({ workerUrl });
  afterAll(() => converter.terminate());
  // workers widen storages read into memory they share; a mapped file's storages widen from the mapping instead (mmap.test.ts)
  const loadWith = async (c: WideningConverter | undefined) =>
    (
      await loadCheckpoint<Map<string, tf.Tensor>>(
        await openResolved(await resolveNodeSource(join(dir, 'w.pt'), { mmap: false }), { mapLocation: 'cpu' }, c),
      )
    ).value;

  beforeAll(async () => {
    if (!needTorch) return;
    expect(await converter.start()).toBe(converter.threads);
    dir = tempDir();
    runPython(
      String.raw`
import sys, torch
g = torch.Generator().manual_seed(0)
every = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).repeat(9)  # 1.1 MiB of all 16-bit patterns
shared = torch.randn(600000, generator=g).half()
sd = {
    'every_half': every.view(torch.float16).view(576, 1024),
    'every_bf16_from_1': every.clone().view(torch.bfloat16)[1:],  # a view at storage offset 1
    'half': (torch.randn(1024, 1100, generator=g) * 3).half(),
    'bf16': torch.randn(700001, generator=g).bfloat16(),
    'int8': torch.randint(-128, 128, (1500007,), generator=g, dtype=torch.int8),
    'int16': torch.randint(-32768, 32767, (600001,), generator=g, dtype=torch.int16),
    'small': torch.tensor([1.5, -2, 65504, 6e-8], dtype=torch.half),
    'float32': torch.randn(300000, generator=g),
    'shared_a': shared,
    'shared_b': shared[1:],
}
torch.save(sd, sys.argv[1] + '/w.pt')
torch.save({k: v.int() if v.dtype in (torch.int8, torch.int16) else v.float() for k, v in sd.items()}, sys.argv[1] + '/ref.pt')
`,
      [dir],
    );
    reference = (await load<Map<string, tf.Tensor>>(join(dir, 'ref.pt'), { mapLocation: 'cpu' })).value;
  });

  it.skipIf(!needTorch)(
    "torch's float32/int32 values; storages of at least 1 MiB that one tensor uses widen on the workers",
    async () => {
      const posted = vi.spyOn(Worker.prototype, 'postMessage');
      const value = await loadWith(converter);
      for (const [name, want] of reference)
        expect(bytesOf(valuesOf(value.get(name)!)).equals(bytesOf(valuesOf(want))), name).toBe(true);
      const onWorkers = ['every_half', 'every_bf16_from_1', 'half', 'bf16', 'int8', 'int16'];
      expect(posted).toHaveBeenCalledTimes(onWorkers.length);
      for (const [name, t] of value)
        expect(valuesOf(t).buffer instanceof SharedArrayBuffer, name).toBe(onWorkers.includes(name));
    },
  );

  it.skipIf(!needTorch)('the same bits as the main-thread load, also with every tensor asked for at once', async () => {
    const main = await loadWith(undefined);
    const ckpt = await openResolved(
      await resolveNodeSource(join(dir, 'w.pt'), { mmap: false }),
      { mapLocation: 'cpu' },
      converter,
    );
    const names = [...main.keys()];
    const once = (await Promise.all([...names, ...names].map((n) => ckpt.tensor(n)))) as tf.Tensor[];
    await ckpt.close();
    names.forEach((n, i) => {
      const want = bytesOf(valuesOf(main.get(n)!));
      expect(bytesOf(valuesOf(once[i]!)).equals(want), n).toBe(true);
      expect(bytesOf(valuesOf(once[i + names.length]!)).equals(want), n).toBe(true);
    });
    expect((ckpt.entry('half').ref as TensorRef).storage.dtype).toBe('float16');
  });
});

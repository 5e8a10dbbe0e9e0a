import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MetaTensor, createDeviceRuntime } from '@x/device';
import { loadMmap } from '@x/mmap';
import type { Tensor } from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath, MANIFEST } from '../testing/manifest.js';
import { isCheckpointError } from '../errors.js';
import { RawTensor, type Materialised } from '../tensors/materialise.js';
import { load, open, save } from '../node.js';
import { openResolved, type Checkpoint, type LoadOptions } from '../open.js';
import { fromFile, type FileSourceOptions } from './source.js';
import { expectCode } from '../testing/helpers.js';

const { binding } = loadMmap();
const runtime = await createDeviceRuntime({ cuda: false });
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const dir = mkdtempSync(join(tmpdir(), 'x-mmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Opens a file with every read of `minMapBytes` or more mapped (1: everything, so small fixtures are mapped too). */
async function openWith(path: string, source: FileSourceOptions, options: LoadOptions): Promise<Checkpoint> {
  const file = await fromFile(path, source);
  return openResolved(
    {
      source: file,
      resolve: (name) => fromFile(join(dirname(path), name), source),
      close: () => file.close(),
      io: file.io,
    },
    options,
  );
}

/** A tensor's kind, dtype, shape and elements, for comparing two loads. */
function contents(m: Materialised): unknown {
  if (m instanceof MetaTensor) return ['meta', m.dtype, m.shape];
  if (m instanceof RawTensor) return ['raw', m.dtype, m.shape, [...m.data].map(String)];
  if ('layout' in m)
    return Object.entries(m).map(([k, v]) => [
      k,
      typeof v === 'object' && !Array.isArray(v) ? contents(v as Materialised) : v,
    ]);
  const t = m as Tensor;
  return ['tf', t.dtype, t.shape, [...t.dataSync()].map(String)];
}

/**
 * Every tensor of a checkpoint, materialised, or the code it is refused with (dtypes TF.js cannot
 * hold, in convert mode); the checkpoint is closed after.
 */
async function everyTensor(ckpt: Checkpoint): Promise<unknown[]> {
  try {
    const out = [];
    for (const name of ckpt.names) {
      let m: Materialised;
      try {
        m = await ckpt.tensor(name);
      } catch (e) {
        if (!isCheckpointError(e)) throw e;
        out.push([name, 'refused', e.code]);
        continue;
      }
      out.push([name, contents(m)]);
      if (!(m instanceof RawTensor || m instanceof MetaTensor || 'layout' in m)) runtime.dispose(m as Tensor);
    }
    return out;
  } finally {
    await ckpt.close();
  }
}

const needsMmap = binding !== undefined || process.env.CI !== undefined;

describe.runIf(needsMmap)('memory-mapped loading', () => {
  it('the addon is built (CI builds it from source at npm ci)', () => {
    expect(binding).toBeDefined();
  });

  const readable = MANIFEST.fixtures.filter((f) => f.error === undefined);
  it.each(readable.flatMap((f) => (['convert', 'raw'] as const).map((mode) => [f.file, mode] as const)))(
    '%s (%s): mapped tensors equal read tensors',
    async (file, mode) => {
      const options: LoadOptions = { mapLocation: 'cpu', runtime, dtype: mode, unknownClasses: 'record' };
      const mapped = await openWith(fixturePath(file), { minMapBytes: 1 }, options);
      expect(mapped.io).toBe('mmap');
      const read = await openWith(fixturePath(file), { mmap: false }, options);
      expect(read.io).toBe('read');
      expect(await everyTensor(mapped)).toEqual(await everyTensor(read));
    },
  );

  it("load reports io 'mmap' by default and 'read' with mmap: false; float32 tensors are views over the mapping", async () => {
    const path = join(dir, 'big.pt');
    const values = Float32Array.from({ length: 100_000 }, (_, i) => i / 7);
    await save(new Map([['w', runtime.place(values, [1000, 100], 'float32', 'cpu')]]), path);
    const before = binding!.mappedBytes();
    const mapped = await load<Map<string, Tensor>>(path, { mapLocation: 'cpu', runtime });
    expect(mapped.report.io).toBe('mmap');
    expect(binding!.mappedBytes()).toBeGreaterThanOrEqual(before + values.byteLength);
    const read = await load<Map<string, Tensor>>(path, { mapLocation: 'cpu', runtime, mmap: false });
    expect(read.report.io).toBe('read');
    expect(mapped.value.get('w')!.dataSync()).toEqual(values);
    expect(read.value.get('w')!.dataSync()).toEqual(values);
  });

  /** A file with one 400 KB float32 tensor `w`, opened mapped. */
  async function bigCheckpoint(name: string): Promise<{ path: string; ckpt: Checkpoint; values: Float32Array }> {
    const path = join(dir, name);
    const values = Float32Array.from({ length: 100_000 }, (_, i) => i - 50_000);
    const w = runtime.place(values, [100_000], 'float32', 'cpu');
    await save(new Map([['w', w]]), path);
    return { path, ckpt: await open(path, { mapLocation: 'cpu', runtime }), values };
  }

  it('a file truncated while mapped fails with INPUT_TRUNCATED, not SIGBUS', async () => {
    const { path, ckpt } = await bigCheckpoint('truncated.pt');
    expect(ckpt.io).toBe('mmap');
    truncateSync(path, 1000);
    await expectCode(ckpt.tensor('w'), 'INPUT_TRUNCATED');
    await ckpt.close();
  });

  it('a file rewritten in place while mapped fails with SOURCE_IO', async () => {
    const { path, ckpt, values } = await bigCheckpoint('rewritten.pt');
    await new Promise((r) => setTimeout(r, 20)); // past the file system's timestamp granularity
    writeFileSync(path, new Uint8Array(statSync(path).size + values.byteLength)); // larger: not a truncation
    await expectCode(ckpt.tensor('w'), 'SOURCE_IO');
    await ckpt.close();
  });

  it('after eight mapped reads, reads are views of one window mapping: equal bytes, same checks, unmapped with its last view', async () => {
    await collect();
    const baseline = binding!.mappedBytes();
    const path = join(dir, 'windows.bin');
    const bytes = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 31) % 251);
    writeFileSync(path, bytes);
    const views: Uint8Array[] = [];
    const file = await fromFile(path, { minMapBytes: 1 });
    for (let i = 0; i < 12; i++) views.push(await file.read(i * 5000 + 7, 3000));
    expect(views).toEqual(views.map((_, i) => bytes.subarray(i * 5000 + 7, i * 5000 + 3007)));
    expect(new Set(views.slice(0, 8).map((v) => v.buffer)).size).toBe(8); // one mapping each
    expect(new Set(views.slice(8).map((v) => v.buffer)).size).toBe(1); // one window, the whole small file
    expect(views[8]!.buffer.byteLength).toBe(bytes.length);
    truncateSync(path, 1000);
    await expectCode(file.read(20_000, 3000), 'INPUT_TRUNCATED');
    await file.close(); // the source forgets its windows
    expect(binding!.mappedBytes()).toBeGreaterThan(baseline);
    views.length = 0;
    await collect();
    expect(binding!.mappedBytes()).toBe(baseline);
  });

  it('close() and disposal in any order: tensors outlive the checkpoint, the mapping outlives neither', async () => {
    await collect();
    const baseline = binding!.mappedBytes();
    const { ckpt, values } = await bigCheckpoint('order.pt');
    const first = (await ckpt.tensor('w')) as Tensor;
    const second = (await ckpt.tensor('w')) as Tensor;
    await ckpt.close();
    await expectCode(ckpt.tensor('w'), 'SOURCE_IO');
    runtime.dispose(first);
    await collect();
    expect(second.dataSync()).toEqual(values); // its mapping is alive: `second` still holds it
    expect(binding!.mappedBytes()).toBeGreaterThan(baseline);
    runtime.dispose(second);
    await collect();
    expect(binding!.mappedBytes()).toBe(baseline);
  });
});

/** Full collections until finalizers (unmaps) have run. */
async function collect(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

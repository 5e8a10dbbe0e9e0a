/**
 * Property-based tests, seeded and reproducible:
 *
 * 1. random state dicts written by our writer load back equal (raw dtype mode, bytes compared);
 * 2. random mutations of every valid fixture of test/fixtures (bit flips, truncation, splices,
 *    boundary length fields, duplicated or reordered zip records) either open to a checkpoint
 *    whose every tensor materialises with the shape its entry declares, or fail with a
 *    CheckpointError — never another error;
 * 3. random bytes, likewise;
 * and no case leaves an unhandled promise rejection behind.
 *
 * The seed is `FUZZ_SEED` (default fixed) and is printed; `FUZZ_RUNS` scales the case counts. A
 * failure prints fast-check's seed and shrunk path: rerun with `FUZZ_SEED=<seed>`. The long run is
 * tools/fuzz/fuzz.mjs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { MAX_MESSAGE_LENGTH, MetaTensor, type TorchDType } from '@x/device';
import { applyMutations, mutationsArbitrary } from '@x-tools/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCheckpointError } from '../errors.js';
import { load } from '../load.js';
import { RawTensor } from '../tensors/materialise.js';
import { open } from '../open.js';
import { writeTorchZip } from '../formats/torch-zip/writer.js';
import { Tuple, type StorageRef, type TensorRef } from '../pickle/values.js';
import { memorySink } from '../zip/writer.js';
import { expectNoPoisoning } from '../testing/expect-rejects.js';
import { securityRuntime } from '../testing/run-case.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_611);
const SCALE = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
console.log(`security fuzz: seed ${SEED} (FUZZ_SEED), scale ${SCALE} (FUZZ_RUNS)`);

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const MANIFEST = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  fixtures: { file: string; format: string; error?: unknown }[];
};
const VALID = MANIFEST.fixtures.filter((f) => f.error === undefined && f.format !== 'sharded').map((f) => f.file);
const BYTES = new Map(VALID.map((f) => [f, new Uint8Array(readFileSync(join(FIXTURES, f)))]));

/** Rejections nobody handled (a reader must never leave one behind: Node exits on them). */
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

/**
 * Opens `bytes` and materialises every tensor, checking each against its entry; returns normally
 * or rethrows anything that is not a CheckpointError. A CheckpointError's message must be bounded.
 */
async function survives(bytes: Uint8Array, unknownClasses: 'error' | 'record' = 'error'): Promise<void> {
  const options = { mapLocation: 'cpu', runtime: await securityRuntime(), unknownClasses } as const;
  const before = tf.engine().state.numTensors;
  try {
    const ckpt = await open(bytes, options);
    try {
      for (const e of ckpt.entries) {
        const t = await ckpt.tensor(e.name);
        if (t instanceof tf.Tensor || t instanceof MetaTensor || t instanceof RawTensor)
          expect(t.shape).toEqual(e.shape);
        for (const part of t instanceof tf.Tensor ? [t] : Object.values(t))
          if (part instanceof tf.Tensor) part.dispose();
      }
    } finally {
      await ckpt.close();
    }
  } catch (e) {
    if (!isCheckpointError(e)) throw e;
    expect(e.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  }
  expect(tf.engine().state.numTensors).toBe(before);
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled.splice(0), 'unhandled rejections').toEqual([]);
}

describe(`fuzz (seed ${SEED})`, () => {
  it('every fixture survives unmutated (the mutations below start from loadable files)', async () => {
    expect(VALID.length).toBeGreaterThan(10);
    for (const bytes of BYTES.values()) await survives(bytes, 'record');
  });

  it('mutated fixtures load consistently or fail with a CheckpointError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...VALID),
        mutationsArbitrary(),
        fc.boolean(),
        async (file, mutations, record) => {
          await survives(applyMutations(BYTES.get(file)!, mutations), record ? 'record' : 'error');
        },
      ),
      { seed: SEED, numRuns: runs(3000) },
    );
    expectNoPoisoning();
  });

  it('random bytes, and random bytes after each format magic, fail with a CheckpointError', async () => {
    const magic = fc.constantFrom(
      new Uint8Array(0),
      Uint8Array.of(0x50, 0x4b, 3, 4),
      Uint8Array.of(0x80, 2),
      Uint8Array.of(0x80, 4, 0x95),
      Uint8Array.of(8, 0, 0, 0, 0, 0, 0, 0, 0x7b),
    );
    await fc.assert(
      fc.asyncProperty(magic, fc.uint8Array({ maxLength: 600 }), async (head, tail) => {
        const bytes = new Uint8Array(head.length + tail.length);
        bytes.set(head);
        bytes.set(tail, head.length);
        await survives(bytes);
      }),
      { seed: SEED + 1, numRuns: runs(1000) },
    );
  });

  it('random state dicts written by writeTorchZip load back equal', async () => {
    await fc.assert(
      fc.asyncProperty(stateDictArbitrary, async ({ value, storages }) => {
        const sink = memorySink();
        await writeTorchZip(value, sink, { storageBytes: (s) => storages.get(s)! });
        const { value: loaded } = await load(sink.bytes(), {
          mapLocation: 'cpu',
          dtype: 'raw',
          runtime: await securityRuntime(),
        });
        expectSame(loaded, value, storages);
      }),
      { seed: SEED + 2, numRuns: runs(400) },
    );
  });
});

const DTYPES: readonly (readonly [TorchDType, number])[] = [
  ['float32', 4],
  ['float16', 2],
  ['bfloat16', 2],
  ['float64', 8],
  ['int64', 8],
  ['int32', 4],
  ['int16', 2],
  ['int8', 1],
  ['uint8', 1],
  ['bool', 1],
];

/** A contiguous tensor over its own storage, with random bytes (bool: 0/1). */
const tensorArbitrary = fc
  .record({
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    seed: fc.integer(),
    location: fc.constantFrom('cpu', 'cuda:0', 'cuda:1'),
  })
  .map(({ dtype: [dtype, itemSize], shape, seed, location }) => {
    const numel = shape.reduce((a, b) => a * b, 1);
    const bytes = new Uint8Array(numel * itemSize);
    for (let i = 0, x = seed >>> 0; i < bytes.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      bytes[i] = dtype === 'bool' ? (x >>> 16) & 1 : x >>> 24;
    }
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const storage: StorageRef = Object.freeze({ key: '', dtype, location, numel, byteLength: bytes.length });
    const ref: TensorRef = Object.freeze({
      storage,
      offset: 0,
      shape,
      stride,
      dtype,
      requiresGrad: false,
      parameter: false,
    });
    return { ref, bytes };
  });

/** Python-like values (tensors, None, bool, ints beyond 2^53, non-integral floats, str, bytes, list, tuple, dict). */
const stateDictArbitrary = fc
  .letrec((tie) => ({
    leaf: fc.oneof(
      tensorArbitrary.map((t) => ({ tensor: t })),
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).filter((b) => b < -(2n ** 53n) || b > 2n ** 53n),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.uint8Array({ maxLength: 8 }),
    ),
    node: fc.oneof(
      { depthSize: 'small' },
      tie('leaf'),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.array(tie('node'), { maxLength: 3 }).map((a) => ({ tuple: a })),
      fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 4 }).map((d) => ({ dict: d })),
    ),
  }))
  .node.chain((shape) => fc.constant(build(shape)));

type Shape = unknown;

/** Turns the generated shape into a pickler value plus each storage's bytes. */
function build(shape: Shape): { value: unknown; storages: Map<StorageRef, Uint8Array> } {
  const storages = new Map<StorageRef, Uint8Array>();
  const walk = (v: Shape): unknown => {
    if (typeof v === 'object' && v !== null && 'tensor' in v) {
      const { ref, bytes } = (v as { tensor: { ref: TensorRef; bytes: Uint8Array } }).tensor;
      storages.set(ref.storage, bytes);
      return ref;
    }
    if (typeof v === 'object' && v !== null && 'tuple' in v)
      return Tuple.from((v as { tuple: Shape[] }).tuple.map(walk));
    if (typeof v === 'object' && v !== null && 'dict' in v)
      return new Map(Object.entries((v as { dict: Record<string, Shape> }).dict).map(([k, x]) => [k, walk(x)]));
    if (Array.isArray(v)) return v.map(walk);
    return v;
  };
  return { value: walk(shape), storages };
}

/** `loaded` (raw mode) equals `written`: same structure, tensors as RawTensors with the written bytes. */
function expectSame(loaded: unknown, written: unknown, storages: Map<StorageRef, Uint8Array>): void {
  if (typeof written === 'object' && written !== null && 'storage' in written) {
    const ref = written as TensorRef;
    expect(loaded).toBeInstanceOf(RawTensor);
    const raw = loaded as RawTensor;
    expect([raw.dtype, raw.shape]).toEqual([ref.dtype, ref.shape]);
    expect(new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength)).toEqual(
      storages.get(ref.storage),
    );
  } else if (written instanceof Map) {
    expect(loaded).toBeInstanceOf(Map);
    const m = loaded as Map<unknown, unknown>;
    expect([...m.keys()]).toEqual([...written.keys()]);
    for (const [k, v] of written) expectSame(m.get(k), v, storages);
  } else if (Array.isArray(written) && !(written instanceof Uint8Array)) {
    expect(Array.isArray(loaded)).toBe(true);
    expect(loaded instanceof Tuple).toBe(written instanceof Tuple);
    expect((loaded as unknown[]).length).toBe(written.length);
    for (const [i, v] of written.entries()) expectSame((loaded as unknown[])[i], v, storages);
  } else {
    expect(loaded).toEqual(written);
  }
}

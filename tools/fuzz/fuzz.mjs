#!/usr/bin/env node
/**
 * Long-run fuzzing of the BUILT packages (run `npx tsc -b` in packages/checkpoint and
 * tools/test-utils first): seeded fast-check mutations (bit flips, truncation, splices, boundary
 * length fields, duplicated / reordered zip records) of every valid fixture in
 * packages/checkpoint/test/fixtures (half the cases), of the hostile fixtures and every hostile
 * vector under 64 KiB (two fifths), and random bytes (a tenth).
 * Each case is opened with @x/checkpoint and every tensor materialised; an "escape" is anything
 * but success or a CheckpointError: another error class, an unhandled rejection, a leaked TF.js
 * tensor, a tensor whose shape differs from its entry, a message over 512 characters, or a case
 * slower than 5 s.
 *
 *   node tools/fuzz/fuzz.mjs --cases 100000 --seed 1 [--chunk 10000] [--out report.json]
 *
 * Chunk k runs with seed S + k, so any chunk can be rerun alone; each chunk prints one JSON line.
 * Exit code 1 when anything escaped (each escape is printed with its seed, path and input).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createDeviceRuntime, MetaTensor } from '@x/device';
import { isCheckpointError, open, RawTensor } from '@x/checkpoint';
import { allVectors, applyMutations, mutationsArbitrary } from '@x-tools/test-utils';
import fc from 'fast-check';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    chunk: { type: 'string', default: '10000' },
    out: { type: 'string' },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const chunk = Math.min(Number(values.chunk), cases);
const SLOW_MS = 5000;

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../packages/checkpoint/test/fixtures');
const manifest = JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8'));
const valid = manifest.fixtures
  .filter((f) => f.format !== 'sharded' && f.error === undefined)
  .map((f) => [f.file, new Uint8Array(readFileSync(join(fixtures, f.file)))]);
const hostile = [
  ...manifest.fixtures
    .filter((f) => f.error !== undefined)
    .map((f) => [f.file, new Uint8Array(readFileSync(join(fixtures, f.file)))]),
  ...allVectors()
    .filter((c) => c.bytes.length < 64 * 1024)
    .map((c) => [`vector ${c.vector} ${c.name}`, c.bytes]),
];
const runtime = await createDeviceRuntime({ cuda: false });
const unhandled = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

/** Counts of case results: 'loaded', or the CheckpointError code. */
const outcomes = new Map();

/** Runs one case; returns undefined when it is fine, else a description of the escape. */
async function tryCase(bytes, unknownClasses) {
  const before = tf.engine().state.numTensors;
  const started = performance.now();
  let outcome = 'loaded';
  try {
    const ckpt = await open(bytes, { mapLocation: 'cpu', runtime, unknownClasses });
    try {
      for (const e of ckpt.entries) {
        const t = await ckpt.tensor(e.name);
        const shaped = t instanceof tf.Tensor || t instanceof MetaTensor || t instanceof RawTensor;
        if (shaped && JSON.stringify(t.shape) !== JSON.stringify(e.shape))
          return `tensor ${e.name} has shape ${t.shape}, its entry says ${e.shape}`;
        for (const part of t instanceof tf.Tensor ? [t] : Object.values(t))
          if (part instanceof tf.Tensor) part.dispose();
      }
    } finally {
      await ckpt.close();
    }
  } catch (e) {
    if (!isCheckpointError(e)) return `escaped ${e?.name}: ${String(e?.message).slice(0, 300)}`;
    if (e.message.length > 512) return `${e.code} message of ${e.message.length} characters`;
    outcome = e.code;
  }
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  await new Promise((resolve) => setImmediate(resolve));
  if (unhandled.length > 0) return `unhandled rejection: ${String(unhandled.splice(0)[0]).slice(0, 300)}`;
  if (tf.engine().state.numTensors !== before) return `leaked ${tf.engine().state.numTensors - before} TF.js tensors`;
  const ms = performance.now() - started;
  if (ms > SLOW_MS) return `took ${ms.toFixed(0)} ms`;
  return undefined;
}

/** A corpus entry with up to four mutations. */
const mutated = (corpus) =>
  fc
    .tuple(fc.nat({ max: corpus.length - 1 }), mutationsArbitrary())
    .map(([i, ms]) => ({ from: corpus[i][0], bytes: applyMutations(corpus[i][1], ms) }));
const input = fc.oneof(
  { weight: 5, arbitrary: mutated(valid) },
  { weight: 4, arbitrary: mutated(hostile) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ from: 'random bytes', bytes })) },
);

const report = {
  cases: 0,
  seed,
  chunk,
  escapes: [],
  startedAt: new Date().toISOString(),
  seconds: 0,
  corpus: { valid: valid.length, hostile: hostile.length },
};
const t0 = performance.now();
for (let k = 0; report.cases < cases; k++) {
  const numRuns = Math.min(chunk, cases - report.cases);
  const chunkSeed = seed + k;
  const started = performance.now();
  const result = await fc.check(
    fc.asyncProperty(
      input,
      fc.boolean(),
      async ({ bytes }, record) => (await tryCase(bytes, record ? 'record' : 'error')) === undefined,
    ),
    { seed: chunkSeed, numRuns, endOnFailure: true },
  );
  report.cases += result.numRuns;
  if (result.failed) {
    const [{ from, bytes }, record] = result.counterexample;
    const why = await tryCase(bytes, record ? 'record' : 'error');
    report.escapes.push({
      seed: chunkSeed,
      path: result.counterexamplePath,
      from,
      unknownClasses: record ? 'record' : 'error',
      why,
      input: Buffer.from(bytes).toString('base64'),
    });
  }
  console.log(
    JSON.stringify({
      chunk: k,
      seed: chunkSeed,
      runs: result.numRuns,
      failed: result.failed,
      total: report.cases,
      seconds: ((performance.now() - started) / 1000).toFixed(1),
    }),
  );
}
report.seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
report.outcomes = Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1]));
console.log(
  JSON.stringify({
    done: true,
    cases: report.cases,
    seed,
    escapes: report.escapes.length,
    seconds: report.seconds,
    outcomes: report.outcomes,
  }),
);
for (const e of report.escapes) console.error(JSON.stringify(e));
if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.escapes.length > 0 ? 1 : 0;

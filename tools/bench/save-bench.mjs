#!/usr/bin/env node
/**
 * save() against plain sequential writes of the same number of bytes, in one run, plus peak RSS.
 *
 *   node tools/bench/save-bench.mjs [--scale S] [--mode convert|raw] [--keep]
 *
 * Needs `packages/checkpoint` built (`npx tsc -b`). The state dict is the GPT-2-medium-sized
 * checkpoint of `tools/fixtures/make_bench_model.py` (float32, ~1.42 GB at scale 1), written into
 * `.bench/` (gitignored) with `/usr/bin/python3` when missing. Each measurement runs in its own
 * child process so `process.resourceUsage().maxRSS` is its own peak:
 *
 * - `write`: writes N bytes (N = the size save() produced) through one FileHandle in 64 MiB
 *   chunks from one reused buffer: the disk/page-cache speed any writer is bound by.
 * - `save`: `load(model, { mapLocation: 'cpu', dtype })` (TF.js tensors on the cpu backend, or raw
 *   tensors), RSS measured, then `save(value, out)` timed, peak RSS after.
 *
 * Targets: save within 1.2x of the sequential writes; peak RSS during save at most the loaded
 * model's RSS + 150 MB. Prints one JSON line per measurement and a summary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MB = 2 ** 20;

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    mode: { type: 'string', default: 'convert' },
    keep: { type: 'boolean', default: false },
    child: { type: 'string' },
    model: { type: 'string' },
    out: { type: 'string' },
    bytes: { type: 'string' },
  },
});

if (values.child === 'write') {
  const total = Number(values.bytes);
  const chunk = new Uint8Array(64 * MB).fill(7);
  const started = performance.now();
  const fh = await open(values.out, 'w');
  for (let done = 0; done < total; ) {
    const n = Math.min(chunk.length, total - done);
    const { bytesWritten } = await fh.write(chunk, 0, n);
    done += bytesWritten;
  }
  await fh.close();
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({ what: 'write', bytes: total, seconds, peakRssMB: process.resourceUsage().maxRSS / 1024 }),
  );
  process.exit(0);
}

if (values.child === 'save') {
  const ckpt = await import(join(ROOT, 'packages/checkpoint/dist/node.js'));
  const { save } = await import(join(ROOT, 'packages/checkpoint/dist/node/save.js'));
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const loadStart = performance.now();
  const { value } = await ckpt.load(values.model, { mapLocation: 'cpu', dtype: values.mode });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  globalThis.gc?.();
  const loadedRssMB = process.memoryUsage().rss / MB;
  const peakAfterLoadMB = process.resourceUsage().maxRSS / 1024;
  const started = performance.now();
  const result = await save(value, values.out);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      what: 'save',
      mode: values.mode,
      bytes: result.size,
      storages: result.storages.length,
      loadSeconds,
      seconds,
      loadedRssMB,
      peakAfterLoadMB,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
  process.exit(0);
}

function child(args) {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * MB,
  });
  if (r.status !== 0) throw new Error(`child ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const line = r.stdout.trim().split('\n').at(-1);
  console.log(line);
  return JSON.parse(line);
}

const scale = Number(values.scale);
const dir = join(ROOT, '.bench', scale === 1 ? '' : `scale-${scale}`);
const model = join(dir, 'gpt2-medium.pt');
if (!existsSync(model)) {
  const r = spawnSync(
    '/usr/bin/python3',
    [join(ROOT, 'tools/fixtures/make_bench_model.py'), dir, '--scale', String(scale)],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('make_bench_model.py failed');
}
const out = join(dir, 'saved.pt');
const raw = join(dir, 'sequential.bin');

const saved = child(['--child', 'save', '--model', model, '--out', out, '--mode', values.mode]);
const written = child(['--child', 'write', '--out', raw, '--bytes', String(statSync(out).size)]);
const ratio = saved.seconds / written.seconds;
const overMB = saved.peakRssMB - saved.loadedRssMB;
console.log(
  `\nsave ${(saved.bytes / MB).toFixed(0)} MiB (${saved.mode}): ${saved.seconds.toFixed(2)} s vs sequential writes ${written.seconds.toFixed(2)} s` +
    ` -> ${ratio.toFixed(2)}x (target <= 1.2x)\n` +
    `RSS: loaded model ${saved.loadedRssMB.toFixed(0)} MB, peak ${saved.peakRssMB.toFixed(0)} MB (peak before save ${saved.peakAfterLoadMB.toFixed(0)} MB)` +
    ` -> +${overMB.toFixed(0)} MB (target <= +150 MB)`,
);
if (!values.keep) {
  rmSync(out, { force: true });
  rmSync(raw, { force: true });
}

#!/usr/bin/env node
/**
 * Load benchmark over the BUILT @x/checkpoint (run `npx tsc -b` in packages/checkpoint first).
 *
 *   node tools/bench/load-bench.mjs FILE [F16FILE]
 *
 * Each measurement runs in its own child process, which reports its wall time and its peak RSS
 * (`process.resourceUsage().maxRSS`; Python: `ru_maxrss`), side by side in one run:
 *
 *   raw       positional reads of the whole file into one buffer (the baseline)
 *   load      load(FILE, { mapLocation: 'cpu' })
 *   torch     torch.load(FILE, map_location='cpu') timed inside /usr/bin/python3, when torch imports
 *   open+16MB open(FILE) and one tensor of about 16 MB: time and extra memory
 *   f16 raw / f16 load   the float16 file (default: FILE's sibling `*-f16.pt`) read raw, and loaded as float32
 *
 * The machine's 1-minute load average is printed before and after, since other processes skew wall times.
 *
 * Bench files: `/usr/bin/python3 tools/fixtures/make_bench_model.py .bench [--scale 0.05]`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readWhole } from './read-whole.mjs';

const checkpointDist = new URL('../../packages/checkpoint/dist/node.js', import.meta.url);
const MB = 2 ** 20;

/** Child side: one measurement, printed as JSON on the last stdout line. */
async function child(mode, file) {
  const ck = await import(checkpointDist.href);
  const { createDeviceRuntime } = await import('@x/device');
  const runtime = await createDeviceRuntime({ cuda: false });
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  let extra = {};
  if (mode === 'raw') {
    extra = { bytes: (await readWhole(file)).length };
  } else if (mode === 'load') {
    const { report } = await ck.load(file, { mapLocation: 'cpu', runtime, mmap: false });
    extra = { bytes: report.bytesRead, tensors: report.tensors.length, placed: report.ledger.bytesPlaced };
  } else if (mode === 'open16') {
    const ckpt = await ck.open(file, { mapLocation: 'cpu', runtime });
    const entry = ckpt.entries.reduce((best, e) =>
      Math.abs(e.byteLength - 16 * MB) < Math.abs(best.byteLength - 16 * MB) ? e : best,
    );
    const t = await ckpt.tensor(entry.name);
    await ckpt.close();
    extra = { tensor: entry.name, bytes: entry.byteLength, shape: t.shape };
  }
  const ms = performance.now() - t0;
  const rssAfter = process.memoryUsage().rss;
  console.log(
    JSON.stringify({ ms, maxRSS: process.resourceUsage().maxRSS * 1024, extraRSS: rssAfter - rssBefore, ...extra }),
  );
}

function runChild(mode, file) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

const TORCH = `
import resource, sys, time, torch
t0 = time.perf_counter()
sd = torch.load(sys.argv[1], map_location='cpu')
ms = (time.perf_counter() - t0) * 1000
print('{"ms": %f, "maxRSS": %d}' % (ms, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))
`;

function runTorch(file) {
  if (
    !existsSync('/usr/bin/python3') ||
    spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0
  )
    return undefined;
  const out = execFileSync('/usr/bin/python3', ['-c', TORCH, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return JSON.parse(out.trim().split('\n').at(-1));
}

async function main() {
  const [file, f16arg] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: node tools/bench/load-bench.mjs FILE [F16FILE]');
    process.exitCode = 2;
    return;
  }
  const size = statSync(file).size;
  const f16 = f16arg ?? file.replace(/\.pt$/, '-f16.pt');
  const fmt = (n, d = 1) => n.toFixed(d);
  const loadBefore = loadavg()[0];
  const rows = [];
  const raw = runChild('raw', file);
  const row = (name, r, base, target) =>
    rows.push([name, fmt(r.ms), base === undefined ? '' : `${fmt(r.ms / base.ms, 2)}x`, fmt(r.maxRSS / MB), target]);
  row('raw read', raw, raw, 'baseline');
  const load = runChild('load', file);
  row("load(mapLocation 'cpu')", load, raw, `<= 1.15x; RSS <= ${fmt((size * 1.15) / MB + 150)} MB`);
  const torch = runTorch(file);
  if (torch !== undefined) row("torch.load(map_location='cpu')", torch, raw, 'reference');
  const o = runChild('open16', file);
  rows.push([
    `open + ${o.tensor} (${fmt(o.bytes / MB)} MB)`,
    fmt(o.ms),
    '',
    `+${fmt(o.extraRSS / MB)}`,
    '< 50 ms, < 64 MB extra',
  ]);
  if (existsSync(f16)) {
    const rawF16 = runChild('raw', f16);
    row('f16 raw read', rawF16, rawF16, 'baseline');
    const loadF16 = runChild('load', f16);
    row('f16 load as float32', loadF16, rawF16, '<= 2x of f16 raw read');
  }
  console.log(
    `file: ${file} (${fmt(size / MB)} MB)${existsSync(f16) ? `, f16: ${f16} (${fmt(statSync(f16).size / MB)} MB)` : ''}`,
  );
  console.log(
    `1-minute load average: ${fmt(loadBefore, 2)} before, ${fmt(loadavg()[0], 2)} after (timings are wall clock; above ~1.5 on 2 cores they are noisy)`,
  );
  const head = ['measurement', 'ms', 'ratio', 'peak RSS MB', 'target'];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const r of all)
    console.log(
      r
        .map((c, i) => (i === 1 || i === 2 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    );
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

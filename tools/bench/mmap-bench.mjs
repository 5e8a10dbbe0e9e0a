#!/usr/bin/env node
/**
 * Zero-copy loading benchmark over the BUILT @x/checkpoint (`npx turbo run build` first), side by
 * side in one run with torch 2.13 and the safetensors library from the venv (env X_TORCH2_PYTHON,
 * default `<repo>/.venv-torch2/bin/python`).
 *
 *   node tools/bench/mmap-bench.mjs FILE.pt FILE.safetensors [--runs 3] [--only touch,open16,eager,describe]
 *
 * Every measurement runs in a fresh child process (its wall time measured inside it, its peak RSS
 * from getrusage), and the measurements of one comparison alternate, `--runs` times; the table shows
 * medians and their ratio. Our children create the device runtime before timing, as do the targets.
 *
 *   touch      load() with mmap, then one byte read per 4 KiB page of every tensor  vs
 *              torch.load(mmap=True) + one read per page (.pt) / safe_open + get_tensor of every
 *              tensor + one read per page (.safetensors)
 *   open16     open() + tensor() of the ~16 MB tensor  vs  safe_open + get_tensor of the same tensor,
 *              first call in the process, a second call (after one open of the same file), and the
 *              steady state: the median of calls 31 to 50 in one process
 *   eager      load(mmap: false)  vs  positional reads of the whole file into one buffer (`raw`);
 *              torch.load (eager) and safetensors load_file shown for reference
 *   rss        RSS growth right after load() with mmap (before any page is touched)
 *   describe   `x-checkpoint inspect FILE --no-hash --json`, end to end, alternating with a fresh
 *              `node` that imports @x/checkpoint, opens FILE and lists every tensor, and with a bare
 *              `node -e 0` (Node's own start, the floor of both)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readWhole } from './read-whole.mjs';

const checkpointDist = new URL('../../packages/checkpoint/dist/node.js', import.meta.url);
const MB = 2 ** 20;
const PAGE = 4096;
const TARGET_BYTES = 16 * MB;
/** Steady state: calls timed after these many in the same process (V8 has optimised the readers by then). */
const STEADY_WARMUP = 30;
const STEADY_TIMED = 20;

/** The tensor entry closest to 16 MB. */
function near16(entries) {
  return entries.reduce((best, e) =>
    Math.abs(e.byteLength - TARGET_BYTES) < Math.abs(best.byteLength - TARGET_BYTES) ? e : best,
  );
}

/** One byte read per page of a typed array's bytes (every page of it is faulted in). */
function touch(values) {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += PAGE) sum += bytes[i];
  return sum;
}

/** Child side: one measurement, printed as JSON on the last stdout line. */
async function child(mode, file) {
  const ck = await import(checkpointDist.href);
  if (mode === 'describe') {
    const ckpt = await ck.open(file);
    const n = ckpt.entries.map((e) => `${e.name} ${e.dtype} [${e.shape}]`).length;
    await ckpt.close();
    console.log(JSON.stringify({ tensors: n }));
    return;
  }
  const { createDeviceRuntime } = await import('@x/device');
  const runtime = await createDeviceRuntime({ cuda: false, devices: ['cpu'] });
  const openTensor = async () => {
    const ckpt = await ck.open(file, { mapLocation: 'cpu', runtime });
    const t = await ckpt.tensor(near16(ckpt.entries).name);
    await ckpt.close();
    return { ckpt, t };
  };
  if (mode === 'open16steady') {
    const times = [];
    for (let i = 0; i < STEADY_WARMUP + STEADY_TIMED; i++) {
      const t0 = performance.now();
      const { t } = await openTensor();
      times.push(performance.now() - t0);
      runtime.dispose(t);
    }
    console.log(
      JSON.stringify({ ms: median(times.slice(STEADY_WARMUP)), maxRSS: process.resourceUsage().maxRSS * 1024 }),
    );
    return;
  }
  if (mode === 'open16warm') runtime.dispose((await openTensor()).t);
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const out = {};
  if (mode === 'raw') {
    await readWhole(file);
  } else if (mode === 'touch' || mode === 'eager') {
    const { value, report } = await ck.load(file, { mapLocation: 'cpu', runtime, mmap: mode === 'touch' });
    out.io = report.io;
    out.rssAfterLoad = process.memoryUsage().rss - rssBefore;
    out.loadMs = performance.now() - t0;
    if (mode === 'touch') for (const t of value.values()) touch(t.dataSync());
  } else if (mode === 'open16' || mode === 'open16warm') {
    const { ckpt, t } = await openTensor();
    out.io = ckpt.io;
    out.tensor = `${near16(ckpt.entries).name} [${t.shape}]`;
  }
  out.ms = performance.now() - t0;
  out.maxRSS = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify(out));
}

const PY = `
import json, resource, statistics, sys, time
import torch
from safetensors import safe_open
from safetensors.torch import load_file
mode, path = sys.argv[1], sys.argv[2]
def touch(t):
    return int(t.contiguous().view(-1).view(torch.uint8)[::4096].sum()) if t.numel() else 0
out = {}
t0 = time.perf_counter()
if mode == 'torch-touch':
    sd = torch.load(path, map_location='cpu', mmap=True, weights_only=True)
    for t in sd.values(): touch(t)
elif mode == 'torch-eager':
    sd = torch.load(path, map_location='cpu', weights_only=True)
elif mode == 'st-touch':
    with safe_open(path, framework='pt') as f:
        for k in f.keys(): touch(f.get_tensor(k))
elif mode == 'st-load':
    sd = load_file(path)
elif mode in ('st-open16steady', 'torch-open16steady'):
    name, times = sys.argv[3], []
    for i in range(${STEADY_WARMUP + STEADY_TIMED}):
        t0 = time.perf_counter()
        if mode == 'torch-open16steady':
            t = torch.load(path, map_location='cpu', mmap=True, weights_only=True)[name]
        else:
            with safe_open(path, framework='pt') as f:
                t = f.get_tensor(name)
        times.append(time.perf_counter() - t0)
    out['ms'] = statistics.median(times[${STEADY_WARMUP}:]) * 1000
elif mode == 'torch-open16':
    t = torch.load(path, map_location='cpu', mmap=True, weights_only=True)[sys.argv[3]]
elif mode.startswith('st-open16'):
    name = sys.argv[3]
    if mode == 'st-open16warm':
        with safe_open(path, framework='pt') as f:
            f.get_tensor(name)
        t0 = time.perf_counter()
    with safe_open(path, framework='pt') as f:
        t = f.get_tensor(name)
    out['tensor'] = name
out.setdefault('ms', (time.perf_counter() - t0) * 1000)
out['maxRSS'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps(out))
`;

const python = process.env.X_TORCH2_PYTHON ?? fileURLToPath(new URL('../../.venv-torch2/bin/python', import.meta.url));

function lastJson(out) {
  return JSON.parse(out.trim().split('\n').at(-1));
}

function node(mode, file) {
  return lastJson(
    execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
}

function py(mode, file, ...rest) {
  return lastJson(
    execFileSync(python, ['-c', PY, mode, file, ...rest], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  );
}

/** Wall time of a whole child process (Node's start included). */
function endToEnd(mode, file) {
  const t0 = performance.now();
  const r = node(mode, file);
  return { ...r, ms: performance.now() - t0, maxRSS: 0 };
}

const cliBin = fileURLToPath(new URL('../../packages/checkpoint/bin/x-checkpoint.js', import.meta.url));

/** Wall time of `node ARGS` (its output discarded). */
function wall(args) {
  const t0 = performance.now();
  execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return { ms: performance.now() - t0, maxRSS: 0 };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs the measurements of one comparison alternately, `runs` times; medians of ms and peak RSS. */
function compare(runs, measures) {
  const results = measures.map(() => []);
  for (let r = 0; r < runs; r++) for (const [i, m] of measures.entries()) results[i].push(m());
  return results.map((rs) => ({
    ...rs.at(-1),
    ms: median(rs.map((x) => x.ms)),
    maxRSS: median(rs.map((x) => x.maxRSS)),
    rssAfterLoad: median(rs.map((x) => x.rssAfterLoad ?? 0)),
    all: rs.map((x) => (x.ms < 10 ? Number(x.ms.toFixed(2)) : Math.round(x.ms))),
  }));
}

/** The name of the ~16 MB tensor of a safetensors file (read from its header). */
async function stNear16(file) {
  const fh = await openFile(file, 'r');
  const len = Buffer.alloc(8);
  await fh.read(len, 0, 8, 0);
  const header = Buffer.alloc(Number(len.readBigUInt64LE(0)));
  await fh.read(header, 0, header.length, 8);
  await fh.close();
  const entries = Object.entries(JSON.parse(header.toString('utf8')))
    .filter(([k]) => k !== '__metadata__')
    .map(([name, v]) => ({ name, byteLength: v.data_offsets[1] - v.data_offsets[0] }));
  return near16(entries).name;
}

async function main() {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
  const onlyAt = args.indexOf('--only');
  const only = new Set(onlyAt >= 0 ? args.splice(onlyAt, 2)[1].split(',') : ['touch', 'open16', 'eager', 'describe']);
  const [pt, st] = args;
  if (pt === undefined || st === undefined || !existsSync(pt) || !existsSync(st)) {
    console.error('usage: node tools/bench/mmap-bench.mjs FILE.pt FILE.safetensors [--runs 3]');
    process.exitCode = 2;
    return;
  }
  const fmt = (n, d = n < 10 ? 2 : 0) => n.toFixed(d);
  const before = loadavg()[0];
  const rows = [];
  const row = (work, ours, peer, peerName, target, ok) =>
    rows.push([
      work,
      `${fmt(ours.ms)} (${ours.all.join(', ')})`,
      peer === undefined ? '' : `${fmt(peer.ms)} (${peer.all.join(', ')})`,
      peerName,
      peer === undefined ? '' : `${fmt(ours.ms / peer.ms, 2)}x`,
      ours.maxRSS === 0 ? '' : fmt(ours.maxRSS / MB, 0),
      peer === undefined ? '' : fmt(peer.maxRSS / MB, 0),
      target,
      target === '' ? '' : ok ? 'met' : 'NOT met',
    ]);

  const name16 = await stNear16(st);
  for (const [file, kind] of [
    [pt, '.pt'],
    [st, '.safetensors'],
  ]) {
    if (only.has('touch')) {
      const peerTouch = kind === '.pt' ? () => py('torch-touch', file) : () => py('st-touch', file);
      const [touchOurs, touchPeer] = compare(runs, [() => node('touch', file), peerTouch]);
      if (touchOurs.io !== 'mmap') throw new Error(`io is ${touchOurs.io}: build @x/mmap first`);
      row(
        `${kind} whole file, every page touched`,
        touchOurs,
        touchPeer,
        kind === '.pt' ? 'torch.load(mmap=True) + touch' : 'safe_open + get_tensor (all) + touch',
        '<= 1.3x',
        touchOurs.ms <= 1.3 * touchPeer.ms,
      );
      const rss = touchOurs.rssAfterLoad;
      rows.push([
        `${kind} RSS right after load (mmap)`,
        `${rss < 0 ? '−' : '+'}${fmt(Math.abs(rss) / MB, 1)} MB`,
        '',
        '',
        '',
        '',
        '',
        '< +100 MB',
        rss < 100 * MB ? 'met' : 'NOT met',
      ]);
    }
    if (only.has('open16')) {
      const [open16, stOpen16] = compare(runs, [() => node('open16', file), () => py('st-open16', st, name16)]);
      row(
        `${kind} open + ${open16.tensor}, first call in the process`,
        open16,
        stOpen16,
        'safe_open + get_tensor (.safetensors)',
        '<= 2x',
        open16.ms <= 2 * stOpen16.ms,
      );
      const [warm, stWarm] = compare(runs, [() => node('open16warm', file), () => py('st-open16warm', st, name16)]);
      row(
        `${kind} open + the same tensor, second call in the process`,
        warm,
        stWarm,
        'safe_open + get_tensor, second call',
        '<= 2x',
        warm.ms <= 2 * stWarm.ms,
      );
      const [steady, stSteady] = compare(runs, [
        () => node('open16steady', file),
        () => py('st-open16steady', st, name16),
      ]);
      row(
        `${kind} open + the same tensor, steady state (median of calls ${STEADY_WARMUP + 1}-${STEADY_WARMUP + STEADY_TIMED} in one process)`,
        steady,
        stSteady,
        'safe_open + get_tensor, same calls',
        '<= 2x',
        steady.ms <= 2 * stSteady.ms,
      );
      if (kind === '.pt') {
        // torch's own reader of the same file, for reference: what a .pt costs in the Python world
        const [torchFirst, torchSteady] = compare(runs, [
          () => py('torch-open16', file, name16),
          () => py('torch-open16steady', file, name16),
        ]);
        row(
          '.pt reference: torch.load(mmap=True)[name], first call / steady state',
          open16,
          torchFirst,
          'torch.load(mmap=True) + index, first call',
          '',
          true,
        );
        row('', steady, torchSteady, 'the same, steady state', '', true);
      }
    }
    if (only.has('eager')) {
      const [eager, raw, peerEager] = compare(runs, [
        () => node('eager', file),
        () => node('raw', file),
        kind === '.pt' ? () => py('torch-eager', file) : () => py('st-load', file),
      ]);
      row(
        `${kind} eager load (mmap: false)`,
        eager,
        raw,
        'positional read of the whole file',
        '<= 1.0x',
        eager.ms <= raw.ms,
      );
      row(
        `${kind} reference: eager peer`,
        eager,
        peerEager,
        kind === '.pt' ? 'torch.load (eager)' : 'safetensors load_file',
        '',
        true,
      );
    }
    if (only.has('describe')) {
      const [cli, describe, bare] = compare(runs, [
        () => wall([cliBin, 'inspect', file, '--no-hash', '--json']),
        () => endToEnd('describe', file),
        () => wall(['-e', '0']),
      ]);
      row(
        `${kind} \`x-checkpoint inspect --no-hash --json\`, end to end`,
        cli,
        undefined,
        '',
        '< 300 ms',
        cli.ms < 300,
      );
      row(`${kind} open + list tensors through the library, end to end`, describe, undefined, '', '', true);
      row('  of which: a bare `node -e 0` start', bare, undefined, '', '', true);
    }
  }

  console.log(
    `files: ${pt} (${fmt(statSync(pt).size / MB)} MB), ${st} (${fmt(statSync(st).size / MB)} MB); ${runs} alternating runs, medians (all runs in parentheses), ms`,
  );
  console.log(
    `1-minute load average: ${fmt(before, 2)} before, ${fmt(loadavg()[0], 2)} after (2 cores: above ~1.5, wall times are noisy)`,
  );
  const head = ['work', 'ours ms', 'peer ms', 'peer', 'ratio', 'our peak RSS MB', 'peer peak RSS MB', 'target', ''];
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else await main();

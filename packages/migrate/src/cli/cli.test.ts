import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '@x/checkpoint';
import { describe, expect, it } from 'vitest';
import { runCli } from './run.js';
import { parseMapLocation } from '@x/checkpoint/cli';
import { parseAssignments } from './specs.js';
import { planDeviceMap } from '../device-map/plan.js';
import { APP_MODEL, appBatch, appBytes, fixture, tempDir } from '../testing/fixtures.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('specs', () => {
  it('reads map-location specs and key=value lists', () => {
    expect(parseMapLocation('cpu')).toBe('cpu');
    expect(parseMapLocation('cuda:1=cpu,cuda:0=cpu')).toEqual({ 'cuda:1': 'cpu', 'cuda:0': 'cpu' });
    expect(parseAssignments('features=wasm,=cpu', '--map')).toEqual({ features: 'wasm', '': 'cpu' });
    expect(() => parseAssignments('cuda:0', '--max-memory')).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
    expect(() => parseAssignments('a=1,a=2', '--map')).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
  });
});

describe('x-migrate relocate', () => {
  it('relocates and prints what it changed', async () => {
    const out = join(tempDir(), 'cpu.pt');
    const r = await cli('relocate', fixture('zip/cuda-mixed.pt'), out, '--map-location', 'cuda:1=cpu,cuda:0=cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^0\s+float32\s+16\s+cuda:0\s+cpu$/m);
    expect(r.stdout).toMatch(/^2\s+int64\s+24\s+cpu\s+cpu$/m);
    expect(r.stdout).toContain('2 of 3 storages relocated');
    const ckpt = await open(out);
    expect(ckpt.entries.map((e) => e.location)).toEqual(['cpu', 'cpu', 'cpu', 'cpu']);
    await ckpt.close();
  });

  it('reports bad input with a code, no stack trace, non-zero exit, and no output file', async () => {
    const dir = tempDir();
    const missing = await cli('relocate', join(dir, 'nope.pt'), join(dir, 'out.pt'), '--map-location', 'cpu');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^x-migrate: SOURCE_IO: /);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const badSpec = await cli('relocate', fixture('zip/cuda0.pt'), join(dir, 'out.pt'), '--map-location', 'cuda:0=');
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr).toMatch(/^x-migrate: USAGE: --map-location: expected SAVED=DEVICE pairs/);
    const badDevice = await cli('relocate', fixture('zip/cuda0.pt'), join(dir, 'out.pt'), '--map-location', 'cuda:01');
    expect(badDevice.code).toBe(2);
    expect(badDevice.stderr).toMatch(
      /^x-migrate: DEVICE_INVALID: --map-location: "cuda:01" is not a device \(Invalid device string: 'cuda:01'\)/,
    );
    const badTarget = await cli('compare', APP_MODEL, '--target', 'gpu');
    expect([badTarget.code, badTarget.stderr]).toEqual([
      2,
      expect.stringMatching(
        /^x-migrate: DEVICE_INVALID: --target: "gpu" is not a device .*expected TYPE or TYPE:INDEX/,
      ),
    ]);
    expect(readdirSync(dir)).toEqual([]);
    expect((await cli('relocate', 'a')).code).toBe(2);
    expect((await cli('frobnicate')).stderr).toMatch(/^x-migrate: USAGE: unknown command "frobnicate"/);
    expect((await cli('plan', APP_MODEL, '--max-memory', 'cpu=1GiB', '--bogus')).stderr).toMatch(
      /^x-migrate: USAGE: Unknown option '--bogus'/,
    );
  });
});

describe('x-migrate plan', () => {
  const entries = appBatch().tensors.map((t) => ({
    name: String(t.path[0]),
    bytes: t.shape.reduce((a, b) => a * b, 1) * 4,
  }));

  it('plans from metadata only (no tensor data read), as planDeviceMap does over the sizes torch recorded', async () => {
    const r = await cli(
      'plan',
      APP_MODEL,
      '--max-memory',
      'cuda:0=6000,cpu=1GiB',
      '--strategy',
      'sequential',
      '--json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as ReturnType<typeof planDeviceMap> & { bytesRead: number };
    expect(out.bytesRead).toBe(0);
    const expected = planDeviceMap(entries, { strategy: 'sequential', maxMemory: { 'cuda:0': 6000, cpu: '1GiB' } });
    expect(out.deviceMap).toEqual(expected.deviceMap);
    expect(out.totals).toEqual(expected.totals);
    expect(out.modelBytes).toBe(appBytes());
    expect(Object.values(out.totals).reduce((a, b) => a + b, 0)).toBe(appBytes());
    expect(new Set(Object.values(out.deviceMap))).toEqual(new Set(['cuda:0', 'cpu']));
  });

  it('prints the device map as a table with per-device totals', async () => {
    const r = await cli(
      'plan',
      APP_MODEL,
      '--max-memory',
      'cuda:0=1GiB,cpu=1GiB',
      '--no-split',
      'features',
      '--no-split',
      'classifier',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^module\s+device\s+bytes$/m);
    expect(r.stdout).toMatch(new RegExp(`^\\(all\\)\\s+cuda:0\\s+${appBytes()}$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^cuda:0\\s+${appBytes()}\\s+\\d+$`, 'm'));
    expect(r.stdout).toContain(`model: ${appBytes()} bytes`);
  });

  it('passes planner errors through with their code', async () => {
    const r = await cli('plan', APP_MODEL, '--max-memory', 'cpu=100');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^x-migrate: PLAN_DOES_NOT_FIT: /);
    expect((await cli('plan', APP_MODEL, '--max-memory', 'cpu=lots')).stderr).toMatch(/^x-migrate: MEMORY_INVALID: /);
  });
});

describe('x-migrate compare', () => {
  it('prints the strategies side by side', async () => {
    const total = appBytes();
    const r = await cli(
      'compare',
      APP_MODEL,
      '--target',
      'cpu',
      '--bind',
      'cuda=wasm',
      '--map',
      'features=cuda:0,classifier=cpu',
      '--json',
    );
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout) as { strategy: string; bytesMoved: number; peak: Record<string, number> }[];
    expect(results.map((x) => [x.strategy, x.bytesMoved])).toEqual([
      ['map-location', 0],
      ['load-then-to', total],
      ['device-map', 0],
    ]);
    expect(results[2]!.peak).toEqual({ 'cuda:0': appBytes('features'), cpu: appBytes('classifier') });
    const table = await cli('compare', APP_MODEL, '--target', 'cpu');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^strategy\s+bytes read\s+bytes moved\s+copies\s+peak cpu\s+ms\s+result$/m);
    expect(table.stdout).toContain("load(f).to('cpu')");
    expect(table.stdout).toContain('failed: DEVICE_UNAVAILABLE');
  });

  it('exits 1 when a strategy that should work fails (load-then-to failing for an absent saved device is expected)', async () => {
    const r = await cli('compare', APP_MODEL, '--target', 'cpu', '--map', 'features=cuda:0,classifier=cpu');
    expect(r.code).toBe(1); // no cuda binding: the device-map strategy cannot place features
    expect(r.stdout).toMatch(/^loadWithDeviceMap.*failed: DEVICE_UNAVAILABLE/m);
  });
});

describe('the x-migrate executable (bin/x-migrate.js over dist, built before tests)', () => {
  const bin = join(dirname(fileURLToPath(import.meta.url)), '../../bin/x-migrate.js');

  it('exits non-zero with code and message on stderr, no stack trace', () => {
    expect(existsSync(bin)).toBe(true);
    const r = spawnSync(
      process.execPath,
      [bin, 'relocate', '/nonexistent/in.pt', join(tempDir(), 'o.pt'), '--map-location', 'cpu'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^x-migrate: SOURCE_IO: cannot open/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

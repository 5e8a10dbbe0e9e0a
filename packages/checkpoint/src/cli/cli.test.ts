import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main, parseMapLocation } from './main.js';

const fixtures = new URL('../../test/fixtures/', import.meta.url);
const pathOf = (file: string) => fileURLToPath(new URL(file, fixtures));
const manifest = new Map(
  (
    JSON.parse(readFileSync(new URL('manifest.json', fixtures), 'utf8')) as {
      fixtures: { file: string; torch_error?: string; tensors: Record<string, unknown>[] }[];
    }
  ).fixtures.map((f) => [f.file, f]),
);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('x-checkpoint', () => {
  it('inspect --json gives path, dtype, shape, location and torch’s sha256 per tensor', async () => {
    const r = await run('inspect', pathOf('zip/dtypes.pt'), '--json');
    expect(r.code).toBe(0);
    const expected = manifest
      .get('zip/dtypes.pt')!
      .tensors.map(({ path, dtype, shape, location, sha256 }) => ({ path, dtype, shape, location, sha256 }));
    expect(JSON.parse(r.out)).toEqual({ format: 'zip', tensors: expected });
  });

  it('inspect prints an aligned table with a total', async () => {
    const r = await run('inspect', pathOf('zip/views.pt'));
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const header = lines[1]!;
    const row = lines.find((l) => l.startsWith('transposed'))!;
    expect(row.indexOf('[4, 3]')).toBe(header.indexOf('SHAPE'));
    // storages 0..4 of views.pt hold 24 + 24 + 1 + 0 + 1 float32 elements
    expect(lines.at(-1)).toBe(`total: 10 tensors, 5 storages, ${(24 + 24 + 1 + 0 + 1) * 4} bytes (200 B)`);
  });

  it('load without --map-location fails on a CUDA file with torch’s text and the flag that fixes it, no stack trace', async () => {
    const r = await run('load', pathOf('zip/cuda0.pt'));
    expect(r.code).toBe(2);
    expect(r.err.startsWith(`x-checkpoint: DEVICE_UNAVAILABLE: ${manifest.get('zip/cuda0.pt')!.torch_error!}`)).toBe(
      true,
    );
    expect(r.err).toMatch(
      /Fix: rerun with --map-location cpu, or --map-location cuda:0=cpu to remap this location only\.$/,
    );
    expect(r.err).not.toContain('mapLocation');
    expect(r.err).not.toMatch(/\n\s+at /);
    const j = await run('load', pathOf('zip/cuda0.pt'), '--json');
    expect(JSON.parse(j.err).error.code).toBe('DEVICE_UNAVAILABLE');
  });

  it('load --map-location remaps and reports where each tensor landed and the ledger', async () => {
    const r = await run('load', pathOf('zip/cuda-mixed.pt'), '--map-location', 'cuda:1=cpu,cuda:0=cpu', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.tensors.map((t: { device: string }) => t.device)).toEqual(['cpu', 'cpu', 'cpu', 'cpu']);
    // a: 4, b: 2x2, c: 3 (int64 -> int32), a_view: 2 elements, 4 bytes each in TF.js
    expect(report.ledger.devices.cpu.bytes).toBe((4 + 4 + 3 + 2) * 4);
    expect(report.ledger.bytesMoved).toBe(0);
    const text = await run('load', pathOf('zip/cuda0.pt'), '--map-location', 'cpu');
    expect(text.out).toMatch(/^cpu\s+2\s+32\s+32$/m); // weight 2x3 + bias 2 float32
  });

  it('usage mistakes and unreadable files exit 2 with one x-checkpoint: CODE: message line', async () => {
    expect((await run('load')).code).toBe(2);
    const bad = await run('inspect', pathOf('zip/views.pt'), '--bogus');
    expect([bad.code, bad.err.split(': ').slice(0, 2)]).toEqual([2, ['x-checkpoint', 'USAGE']]);
    expect((await run('frobnicate')).err).toMatch(/^x-checkpoint: USAGE: unknown command "frobnicate"/);
    const missing = await run('inspect', pathOf('zip/missing.pt'), '--json');
    expect([missing.code, JSON.parse(missing.err).error.code]).toEqual([2, 'SOURCE_IO']);
    expect((await run('inspect', pathOf('hostile/system-zip.pt'))).err).toMatch(
      /^x-checkpoint: PICKLE_UNSAFE_GLOBAL: /,
    );
    for (const r of [bad, missing]) expect(r.err.split('\n')).toHaveLength(1);
  });

  it('an unknown class names the flag that keeps it as a record', async () => {
    const r = await run('inspect', pathOf('zip/whole-module.pt'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^x-checkpoint: PICKLE_UNSAFE_GLOBAL: .*rerun with --unknown-classes record/);
    expect(r.err).not.toContain('unknownClasses');
    expect((await run('inspect', pathOf('zip/whole-module.pt'), '--unknown-classes', 'record')).code).toBe(0);
  });

  it('device strings and map keys are checked with torch’s grammar before the file is read', async () => {
    for (const spec of ['gpu', 'cuda:x=cpu', 'cuda:0=gpu', 'cuda:01']) {
      const bad = spec.split(/[=,]/).find((s) => !/^(cpu|cuda:0)$/.test(s))!;
      const r = await run('load', pathOf('zip/missing.pt'), '--map-location', spec); // a missing file: SOURCE_IO if it were read
      expect(r.code).toBe(2);
      expect(r.err).toContain(`x-checkpoint: DEVICE_INVALID: --map-location: "${bad}" is not a device`);
      expect(r.err).toContain('expected TYPE or TYPE:INDEX');
    }
  });

  it('--version prints the package version; --help lists every option of every command and the exit codes', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await run('--version')).toEqual({ code: 0, out: pkg.version, err: '' });
    const help = await run('--help');
    expect(help.code).toBe(0);
    for (const [name, c] of COMMANDS) {
      expect(help.out).toContain(`x-checkpoint ${name} ${c.args}`);
      for (const o of Object.keys(c.options)) expect(help.out).toMatch(new RegExp(`^ +--${o}\\b`, 'm'));
    }
    expect(help.out).toContain('--unknown-classes error|record');
    expect(help.out).toContain(
      'exit status: 0 success; 1 a finding (diff: the files differ); 2 a usage or input error',
    );
    expect((await run('inspect', '--help')).out).toBe(help.out);
  });

  it('inspect --no-hash reads no tensor data and says the hashes are absent', async () => {
    const r = await run('inspect', pathOf('zip/dtypes.pt'), '--no-hash', '--json');
    expect(r.code).toBe(0);
    const expected = manifest
      .get('zip/dtypes.pt')!
      .tensors.map(({ path, dtype, shape, location }) => ({ path, dtype, shape, location, sha256: null }));
    expect(JSON.parse(r.out)).toEqual({ format: 'zip', hashed: false, tensors: expected });
    expect((await run('inspect', pathOf('zip/views.pt'), '--no-hash')).out).toMatch(/; not hashed \(--no-hash\)$/);
  });

  it('parses map-location specs and keeps a command table', () => {
    expect(parseMapLocation('cpu')).toBe('cpu');
    expect(parseMapLocation('cuda:1=cpu, cuda:0=wasm')).toEqual({ 'cuda:1': 'cpu', 'cuda:0': 'wasm' });
    expect(() => parseMapLocation('cuda:1=')).toThrow(/SAVED=DEVICE/);
    expect(() => parseMapLocation('cuda:0=cpu,cuda:0=wasm')).toThrow(/twice/);
    expect([...COMMANDS.keys()]).toEqual(['inspect', 'load', 'convert', 'diff']);
  });
});

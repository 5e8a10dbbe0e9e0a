import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main, parseMapLocation } from './cli.js';

const fixtures = new URL('../test/fixtures/', import.meta.url);
const pathOf = (file: string) => fileURLToPath(new URL(file, fixtures));
const manifest = new Map(
  (JSON.parse(readFileSync(new URL('manifest.json', fixtures), 'utf8')) as { fixtures: { file: string; torch_error?: string; tensors: Record<string, unknown>[] }[] }).fixtures.map(
    (f) => [f.file, f],
  ),
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
    const expected = manifest.get('zip/dtypes.pt')!.tensors.map(({ path, dtype, shape, location, sha256 }) => ({ path, dtype, shape, location, sha256 }));
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

  it('load without --map-location fails on a CUDA file with torch’s text, no stack trace', async () => {
    const r = await run('load', pathOf('zip/cuda0.pt'));
    expect(r.code).toBe(1);
    expect(r.err.startsWith(`DEVICE_UNAVAILABLE: ${manifest.get('zip/cuda0.pt')!.torch_error!}`)).toBe(true);
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

  it('usage mistakes exit 2 with code USAGE; unreadable files exit 1 with SOURCE_IO', async () => {
    expect((await run('load')).code).toBe(2);
    const bad = await run('inspect', pathOf('zip/views.pt'), '--bogus');
    expect([bad.code, bad.err.split(':')[0]]).toEqual([2, 'USAGE']);
    expect((await run('frobnicate')).err).toMatch(/^USAGE: unknown command 'frobnicate'/);
    const missing = await run('inspect', pathOf('zip/missing.pt'), '--json');
    expect([missing.code, JSON.parse(missing.err).error.code]).toEqual([1, 'SOURCE_IO']);
    expect((await run('inspect', pathOf('hostile/system-zip.pt'))).err).toMatch(/^PICKLE_UNSAFE_GLOBAL: /);
  });

  it('parses map-location specs and keeps a command table', () => {
    expect(parseMapLocation('cpu')).toBe('cpu');
    expect(parseMapLocation('cuda:1=cpu, cuda:0=wasm')).toEqual({ 'cuda:1': 'cpu', 'cuda:0': 'wasm' });
    expect(() => parseMapLocation('cuda:1=')).toThrow(/FROM=TO/);
    expect([...COMMANDS.keys()]).toEqual(['inspect', 'load', 'convert', 'diff']);
  });
});

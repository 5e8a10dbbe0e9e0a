import { readFileSync } from 'node:fs';
import { fromBytes, memorySink } from '@x/checkpoint';
import { openZip } from '@x/checkpoint/internal';
import { describe, expect, it } from 'vitest';
import { rewriteLocations, scanPickle } from './pickle-locations.js';
import { relocateSource } from './relocate.js';
import { fixture, type FixtureTensor } from '../testing/fixtures.js';

interface Fixture {
  file: string;
  format: string;
  roundtrip?: boolean;
  tensors: FixtureTensor[];
}
const manifest = (JSON.parse(readFileSync(fixture('manifest.json'), 'utf8')) as { fixtures: Fixture[] }).fixtures;
const zips = manifest.filter((f) => f.format === 'zip' && !f.file.startsWith('hostile/'));

/** Storage key -> saved location, as real torch reported them in the manifest. */
function torchLocations(f: Fixture): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of f.tensors) if (t.storage !== undefined && t.location !== 'meta') out[t.storage.key] = t.location;
  return out;
}

async function dataPkl(file: string): Promise<Uint8Array> {
  const zip = await openZip(fromBytes(new Uint8Array(readFileSync(fixture(file)))));
  return zip.read('data.pkl');
}

describe('scanPickle', () => {
  it.each(zips.map((f) => [f.file, f] as const))('finds every storage and its saved location in %s', async (_, f) => {
    const scan = scanPickle(await dataPkl(f.file));
    const found = Object.fromEntries(scan.sites.map((s) => [s.storage.key, s.storage.location]));
    // The manifest names each tensor's own storage (not quantizer scales or sparse indices) ...
    expect(found).toMatchObject(torchLocations(f));
    // ... and every storage is one data/ record of the archive.
    const zip = await openZip(fromBytes(new Uint8Array(readFileSync(fixture(f.file)))));
    const records = [...zip.entries.keys()].filter((k) => k.startsWith('data/')).map((k) => k.slice(5));
    expect(Object.keys(found).sort()).toEqual(records.sort());
  });

  it('reports a truncated pickle with its offset', async () => {
    const pkl = await dataPkl('zip/cuda0.pt');
    expect(() => scanPickle(pkl.subarray(0, 130), 0, { entry: 'x/data.pkl', offset: 1000 })).toThrow(
      expect.objectContaining({ code: 'PICKLE_TRUNCATED', entry: 'x/data.pkl' }),
    );
    expect(() => scanPickle(new Uint8Array([0x80, 2, 0xff]))).toThrow(
      expect.objectContaining({ code: 'PICKLE_INVALID_OPCODE', offset: 2 }),
    );
  });

  it('checks the storage persistent ids it rewrites', () => {
    // ('storage', GLOBAL torch NotAStorage, '0', 'cpu', 1) BINPERSID
    const bad = new Uint8Array([
      0x80,
      2,
      0x28,
      0x58,
      7,
      0,
      0,
      0,
      ...Buffer.from('storage'),
      0x63,
      ...Buffer.from('torch\nNotAStorage\n'),
      0x58,
      1,
      0,
      0,
      0,
      0x30,
      0x58,
      3,
      0,
      0,
      0,
      ...Buffer.from('cpu'),
      0x4b,
      1,
      0x74,
      0x51,
      0x2e,
    ]);
    expect(() => scanPickle(bad)).toThrow(expect.objectContaining({ code: 'STORAGE_BAD_PID' }));
  });
});

describe('rewriteLocations', () => {
  it('changes nothing when every storage keeps its location', async () => {
    for (const f of zips) {
      const pkl = await dataPkl(f.file);
      const scan = scanPickle(pkl);
      expect(rewriteLocations(pkl, scan, (s) => s.location).bytes).toEqual(pkl);
    }
  });
});

describe('identity relocation', () => {
  it.each([
    ...zips.filter((f) => f.roundtrip === true).map((f) => f.file),
    'legacy/cuda0.pt',
    'legacy/views.pt',
    'legacy/dtypes.pt',
  ])('reproduces %s byte for byte', async (file) => {
    const input = new Uint8Array(readFileSync(fixture(file)));
    const sink = memorySink();
    // zip/whole-module.pt pickles a __main__ class: relocating it takes the same opt-in as loading it
    await relocateSource(fromBytes(input), sink, undefined, { unknownClasses: 'record' });
    expect(Buffer.from(sink.bytes()).equals(Buffer.from(input))).toBe(true);
  });
});

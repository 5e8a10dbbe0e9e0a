import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fromBytes, memorySink } from '@x/checkpoint';
import { createStorageTable, openZip, unpickle, type StorageRef } from '@x/checkpoint/internal';
import { describe, expect, it } from 'vitest';
import { scanPickle } from './pickle-locations.js';
import { relocateCheckpoint } from './relocate-file.js';
import { relocateSource } from './relocate.js';
import { fixture, runPython, runTorchTests, tempDir, torchAvailable } from '../testing/fixtures.js';
import type { MapLocation } from '@x/device';

async function relocateBytes(bytes: Uint8Array, mapLocation: MapLocation | undefined) {
  const sink = memorySink();
  const report = await relocateSource(fromBytes(bytes), sink, mapLocation);
  return { bytes: sink.bytes(), report };
}

/** Storage locations as the checkpoint package's own unpickler sees them. */
function locations(pickle: Uint8Array): Record<string, string> {
  const table = createStorageTable();
  unpickle(pickle, { persistentLoad: table.persistentLoad });
  return Object.fromEntries([...table.storages.values()].map((s: StorageRef) => [s.key, s.location]));
}

async function records(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
  const zip = await openZip(fromBytes(bytes));
  const out = new Map<string, Uint8Array>();
  for (const [name, e] of zip.entries) out.set(name, await zip.read(e));
  return out;
}

/** `X <u32 len> text`: how torch's protocol-2 pickler writes a str. */
function binunicode(text: string): number[] {
  return [0x58, text.length, 0, 0, 0, ...Buffer.from(text)];
}

function count(bytes: Uint8Array, what: number[]): number {
  return Buffer.from(bytes).toString('hex').split(Buffer.from(what).toString('hex')).length - 1;
}

function replaceAll(bytes: Uint8Array, from: number[], to: number[]): Uint8Array {
  const hex = (a: ArrayLike<number>) => Buffer.from(a as Uint8Array).toString('hex');
  return new Uint8Array(Buffer.from(hex(bytes).split(hex(from)).join(hex(to)), 'hex'));
}

describe('relocateSource on torch zips', () => {
  it('writes a torch-written file back byte for byte when nothing changes (same zip layout as torch 1.13)', async () => {
    for (const name of ['zip/cuda0.pt', 'zip/cuda-mixed.pt', 'zip/views.pt']) {
      const input = new Uint8Array(readFileSync(fixture(name)));
      const { bytes, report } = await relocateBytes(input, undefined);
      expect(report.changed).toBe(0);
      expect(Buffer.from(bytes).equals(Buffer.from(input))).toBe(true);
    }
  });

  it("changes only the location strings of data.pkl: 'cuda:0' -> 'cpu', every other record identical", async () => {
    const input = new Uint8Array(readFileSync(fixture('zip/cuda0.pt')));
    const { bytes, report } = await relocateBytes(input, 'cpu');
    const before = await records(input);
    const after = await records(bytes);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, data] of before) if (name !== 'data.pkl') expect(after.get(name)).toEqual(data);
    // Each 'cuda:0' literal (memoized; a later storage may read it back with BINGET) becomes 'cpu'; nothing else moves.
    expect(after.get('data.pkl')).toEqual(replaceAll(before.get('data.pkl')!, binunicode('cuda:0'), binunicode('cpu')));
    expect(locations(after.get('data.pkl')!)).toEqual({ '0': 'cpu', '1': 'cpu' });
    expect(report).toMatchObject({ format: 'zip', changed: 2, bytesIn: input.length, bytesOut: bytes.length });
    expect(report.storages).toEqual([
      { key: '0', dtype: 'float32', numel: 6, byteLength: 24, from: 'cuda:0', to: 'cpu' },
      { key: '1', dtype: 'float32', numel: 2, byteLength: 8, from: 'cuda:0', to: 'cpu' },
    ]);
  });

  it('follows torch map_location rules: records remap exact tags, functions decide per storage', async () => {
    const input = new Uint8Array(readFileSync(fixture('zip/cuda-mixed.pt')));
    const pkl = async (m: MapLocation) => (await records((await relocateBytes(input, m)).bytes)).get('data.pkl')!;
    expect(locations(await pkl({ 'cuda:1': 'cpu' }))).toEqual({ '0': 'cuda:0', '1': 'cpu', '2': 'cpu' });
    expect(locations(await pkl({ cuda: 'cpu' }))).toEqual({ '0': 'cuda:0', '1': 'cuda:1', '2': 'cpu' });
    expect(locations(await pkl((s) => (s.key === '0' ? 'cuda:1' : 'cpu')))).toEqual({
      '0': 'cuda:1',
      '1': 'cpu',
      '2': 'cpu',
    });
  });

  it('rewrites frames of protocol-4 pickles (lengths adjusted)', async () => {
    const input = new Uint8Array(readFileSync(fixture('zip/protocol4.pt')));
    const { bytes } = await relocateBytes(input, 'cuda:3');
    const pickle = (await records(bytes)).get('data.pkl')!;
    const original = (await records(input)).get('data.pkl')!;
    expect(Object.values(locations(pickle))).toEqual(['cuda:3', 'cuda:3']);
    // One location literal (SHORT_BINUNICODE 'cpu', 5 bytes, memoized and read back by BINGET)
    // becomes BINUNICODE 'cuda:3' (11 bytes): the pickle and its one FRAME grow by 6.
    expect(new Set(scanPickle(original).sites.map((s) => s.entry.literal)).size).toBe(1);
    const frame = (p: Uint8Array) => Number(new DataView(p.buffer, p.byteOffset + 3, 8).getBigUint64(0, true));
    expect(pickle[2]).toBe(0x95);
    expect(pickle.length - original.length).toBe(6);
    expect(frame(pickle)).toBe(frame(original) + 6);
  });

  it('keeps a memoized location string read elsewhere as a plain value', async () => {
    // {'dev': 'cuda:0' (memo 0), 'w': persistent id ('storage', FloatStorage, '0', BINGET 0, 2)}
    const pickle = new Uint8Array([
      0x80,
      2,
      0x7d,
      0x28,
      ...binunicode('dev'),
      ...binunicode('cuda:0'),
      0x71,
      0,
      ...binunicode('w'),
      0x28,
      ...binunicode('storage'),
      0x63,
      ...Buffer.from('torch\nFloatStorage\n'),
      ...binunicode('0'),
      0x68,
      0,
      0x4b,
      2,
      0x74,
      0x51,
      0x75,
      0x2e,
    ]);
    const { torchZip } = await import('@x-tools/test-utils');
    const file = torchZip([
      ['data.pkl', pickle],
      ['data/0', new Uint8Array(8)],
      ['version', '3\n'],
    ]).bytes;
    const out = (await records((await relocateBytes(file, 'cpu')).bytes)).get('data.pkl')!;
    const table = createStorageTable();
    const value = unpickle(out, { persistentLoad: table.persistentLoad }) as Map<string, unknown>;
    expect(value.get('dev')).toBe('cuda:0');
    expect((value.get('w') as StorageRef).location).toBe('cpu');
  });

  it('refuses what it cannot rewrite', async () => {
    for (const name of ['safetensors/dtypes.safetensors', 'tar/legacy-0.1.tar', 'torchscript/scripted.pt']) {
      await expect(relocateBytes(new Uint8Array(readFileSync(fixture(name))), 'cpu')).rejects.toMatchObject({
        code: 'RELOCATE_UNSUPPORTED',
      });
    }
    await expect(relocateBytes(new Uint8Array([1, 2, 3, 4]), 'cpu')).rejects.toMatchObject({
      code: 'RELOCATE_UNSUPPORTED',
    });
  });
});

describe('relocateSource on legacy files', () => {
  it('rewrites the object pickle and copies the header and storage section byte for byte', async () => {
    const input = new Uint8Array(readFileSync(fixture('legacy/cuda0.pt')));
    const { bytes, report } = await relocateBytes(input, 'cpu');
    expect(report).toMatchObject({ format: 'legacy', changed: 2 });
    // Same file with each 'cuda:0' literal shortened to 'cpu' (3 bytes fewer each); nothing else differs.
    expect(bytes).toEqual(replaceAll(input, binunicode('cuda:0'), binunicode('cpu')));
    expect(bytes.length).toBe(input.length - 3 * count(input, binunicode('cuda:0')));
    expect(count(input, binunicode('cuda:0'))).toBeGreaterThan(0);
  });
});

describe('relocateCheckpoint (files)', () => {
  it('writes the output aside and renames it; failures leave no file and the input untouched', async () => {
    const dir = tempDir();
    const input = join(dir, 'in.pt');
    const original = readFileSync(fixture('zip/cuda0.pt'));
    writeFileSync(input, original);
    await relocateCheckpoint(input, join(dir, 'out.pt'), 'cpu');
    expect(readdirSync(dir).sort()).toEqual(['in.pt', 'out.pt']);

    await expect(relocateCheckpoint(input, input, 'cpu')).rejects.toMatchObject({ code: 'RELOCATE_SAME_FILE' });
    const truncated = join(dir, 'truncated.pt');
    writeFileSync(truncated, original.subarray(0, original.length - 30));
    await expect(relocateCheckpoint(truncated, join(dir, 'never.pt'), 'cpu')).rejects.toHaveProperty('code');
    await expect(relocateCheckpoint(input, join(dir, 'bad.pt'), 'cpu:0')).rejects.toMatchObject({
      code: 'LOCATION_UNKNOWN',
    });
    expect(existsSync(join(dir, 'never.pt'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['in.pt', 'out.pt', 'truncated.pt']);
    expect(readFileSync(input).equals(original)).toBe(true);
  });
});

describe.runIf(runTorchTests)('relocated files in real torch 1.13', () => {
  it('torch is installed (required in CI)', () => {
    expect(torchAvailable).toBe(true);
  });

  it('plain torch.load(relocated) on this CPU machine equals torch.load(original, map_location="cpu")', async () => {
    const dir = tempDir();
    const pairs: string[] = [];
    for (const name of ['zip/cuda0.pt', 'zip/cuda-mixed.pt', 'legacy/cuda0.pt']) {
      const out = join(dir, name.replace('/', '-'));
      await relocateCheckpoint(fixture(name), out, { 'cuda:0': 'cpu', 'cuda:1': 'cpu' });
      pairs.push(fixture(name), out);
    }
    const script = String.raw`
import sys, torch
args = sys.argv[1:]
for orig, moved in zip(args[::2], args[1::2]):
    try:
        torch.load(orig)
        raise SystemExit('the original should not load without map_location on a CPU-only machine')
    except RuntimeError as e:
        assert 'torch.cuda.is_available() is False' in str(e), str(e)
    a = torch.load(orig, map_location='cpu')
    b = torch.load(moved)
    assert list(a.keys()) == list(b.keys()), (list(a.keys()), list(b.keys()))
    for k in a:
        assert b[k].device.type == 'cpu', (k, b[k].device)
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].stride() == b[k].stride(), k
        assert torch.equal(a[k], b[k]), k
    shared = [k for k in b if k.endswith('_view')]
    for k in shared:
        assert b[k].storage().data_ptr() == b[k[:-5]].storage().data_ptr(), k
    print(orig.rsplit('/', 1)[-1], len(a))
`;
    const out = runPython(script, pairs);
    expect(out.trim().split('\n')).toEqual(['cuda0.pt 2', 'cuda-mixed.pt 4', 'cuda0.pt 2']);
  });
});

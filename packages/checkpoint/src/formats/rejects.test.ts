import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCheckpointError } from '../errors.js';
import { readContext } from '../read-context.js';
import { resolveLimits } from '../limits.js';
import { fromBytes } from '../source.js';
import { openZip } from '../zip/archive.js';
import { memorySink, ZipWriter } from '../zip/writer.js';
import { openContainer } from './detect.js';
import { checkShardName } from './sharded/reader.js';
import { FIXTURES, fixtureBytes, MANIFEST, openFixture, strided } from '../testing/manifest.js';
import { torchScriptFormat } from './torchscript/reader.js';

async function code(
  p: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> | undefined }> {
  try {
    await p;
  } catch (e) {
    if (isCheckpointError(e)) return { code: e.code, message: e.message, details: e.details };
    throw e;
  }
  throw new Error('expected a CheckpointError');
}

const open = (bytes: Uint8Array) => openContainer(fromBytes(bytes));

/** The fixture's zip records, edited, written again with torch's layout. */
async function rezip(file: string, edit: (records: Map<string, Uint8Array>) => void): Promise<Uint8Array> {
  const zip = await openZip(fromBytes(fixtureBytes(file)));
  const records = new Map<string, Uint8Array>();
  for (const name of zip.entries.keys()) records.set(name, (await zip.read(name)).slice());
  edit(records);
  const sink = memorySink();
  const out = new ZipWriter(sink);
  for (const [name, data] of records) await out.add(`${zip.prefix}/${name}`, data);
  await out.finish();
  return sink.bytes();
}

const text = (s: string) => new TextEncoder().encode(s);

describe('hostile and unsafe pickles', () => {
  it.each(MANIFEST.fixtures.filter((f) => f.error !== undefined).map((f) => [f.file, f] as const))(
    '%s fails naming the global',
    async (_file, fx) => {
      for (const unknownClasses of ['error', 'record'] as const) {
        const e = await code(openFixture(fx.file, { unknownClasses }));
        expect(e.code).toBe(fx.error!.code);
        expect(e.details?.global).toBe(fx.error!.global);
      }
    },
  );

  it('whole-module.pt fails by default (its classes are not allowed)', async () => {
    const e = await code(openFixture('zip/whole-module.pt'));
    expect(e.code).toBe('PICKLE_UNSAFE_GLOBAL');
    expect(e.details?.global).toBe('__main__.TinyNet');
  });
});

describe('detection', () => {
  it.each([
    ['7z', [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4], '7z archive'],
    ['gzip', [0x1f, 0x8b, 8, 0], 'gzip'],
    ['png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG'],
    ['preview', [...text('PYTORCH1')], 'preview release'],
    ['empty', [], 'empty file'],
  ])('%s is UNSUPPORTED_FORMAT naming what it is', async (_name, bytes, what) => {
    const e = await code(
      open(Uint8Array.from([...bytes, ...new Array(64).fill(0x41)].slice(0, bytes.length === 0 ? 0 : undefined))),
    );
    expect(e.code).toBe('UNSUPPORTED_FORMAT');
    expect(e.message).toContain(what);
  });

  it('a zip after other bytes is not read (torch sniffs PK\\3\\4 at byte 0 only)', async () => {
    const e = await code(open(Uint8Array.from([...text('JUNKJUNK'), ...fixtureBytes('zip/linear.pt')])));
    expect(e.code).toBe('UNSUPPORTED_FORMAT');
    expect(e.message).toContain('8 bytes before a zip archive');
  });

  it('TorchScript archives are recognised by constants.pkl; the TorchScript reader refuses a plain torch zip', async () => {
    expect((await open(fixtureBytes('torchscript/scripted.pt'))).format).toBe('torchscript');
    expect((await code(torchScriptFormat.open(fromBytes(fixtureBytes('zip/linear.pt')), readContext()))).code).toBe(
      'UNSUPPORTED_FORMAT',
    );
  });

  it('readStorage refuses storages of another container', async () => {
    const a = await open(fixtureBytes('zip/linear.pt'));
    const b = await open(fixtureBytes('zip/linear.pt'));
    expect((await code(a.readStorage(b.storages[0]!))).code).toBe('STORAGE_MISSING');
  });
});

describe('zip records', () => {
  it.each([
    ['version abc', (r: Map<string, Uint8Array>) => r.set('version', text('abc')), 'ARCHIVE_BAD_VERSION'],
    ['version 11', (r: Map<string, Uint8Array>) => r.set('version', text('11\n')), 'ARCHIVE_BAD_VERSION'],
    ['version 0', (r: Map<string, Uint8Array>) => r.set('version', text('0')), 'ARCHIVE_BAD_VERSION'],
    ['.data/version wins', (r: Map<string, Uint8Array>) => r.set('.data/version', text('99')), 'ARCHIVE_BAD_VERSION'],
    ['no version', (r: Map<string, Uint8Array>) => r.delete('version'), 'ARCHIVE_MISSING_RECORD'],
    ['byteorder middle', (r: Map<string, Uint8Array>) => r.set('byteorder', text('middle')), 'ARCHIVE_BAD_BYTEORDER'],
    ['byteorder BIG', (r: Map<string, Uint8Array>) => r.set('byteorder', text('BIG')), 'ARCHIVE_BAD_BYTEORDER'],
    [
      'short storage',
      (r: Map<string, Uint8Array>) => r.set('data/0', r.get('data/0')!.subarray(4)),
      'STORAGE_SIZE_MISMATCH',
    ],
    [
      'long storage',
      (r: Map<string, Uint8Array>) => r.set('data/1', new Uint8Array(r.get('data/1')!.length + 4)),
      'STORAGE_SIZE_MISMATCH',
    ],
    ['missing storage', (r: Map<string, Uint8Array>) => r.delete('data/1'), 'STORAGE_MISSING'],
  ])('%s', async (_name, edit, expected) => {
    expect((await code(open(await rezip('zip/linear.pt', edit)))).code).toBe(expected);
  });

  it('an untouched rewrite still opens (the edits above are what fails)', async () => {
    const c = await open(await rezip('zip/linear.pt', () => undefined));
    expect(strided(c).map((t) => t.name)).toEqual(['weight', 'bias']);
  });

  it('a big byteorder record swaps storages to little-endian', async () => {
    const little = await open(fixtureBytes('zip/linear.pt'));
    const big = await open(
      await rezip('zip/linear.pt', (r) => {
        r.set('byteorder', text('big'));
        for (const k of ['data/0', 'data/1']) {
          const b = r.get(k)!;
          for (let i = 0; i < b.length; i += 4) b.subarray(i, i + 4).reverse();
        }
      }),
    );
    expect(await big.readStorage(big.storages[0]!)).toEqual(await little.readStorage(little.storages[0]!));
  });
});

describe('legacy stream', () => {
  const legacy = fixtureBytes('legacy/dtypes.pt');

  it('bytes after the last storage are LEGACY_TRAILING_DATA (an appended zip cannot hide there)', async () => {
    const e = await code(open(Uint8Array.from([...legacy, ...fixtureBytes('zip/linear.pt')])));
    expect(e.code).toBe('LEGACY_TRAILING_DATA');
  });

  it('a truncated storage section is LEGACY_BAD_STORAGE', async () => {
    expect((await code(open(legacy.subarray(0, legacy.length - 3)))).code).toBe('LEGACY_BAD_STORAGE');
  });

  it('a wrong magic number is LEGACY_BAD_MAGIC', async () => {
    const bad = legacy.slice();
    bad[5]! ^= 0xff; // inside the LONG1 payload of the magic number
    expect((await code(open(bad))).code).toBe('LEGACY_BAD_MAGIC');
  });

  it('a wrong protocol version is LEGACY_BAD_HEADER', async () => {
    const bad = legacy.slice();
    expect([...bad.subarray(15, 21)]).toEqual([0x80, 2, 0x4d, 0xe9, 0x03, 0x2e]); // pickle(1001): protocol version
    bad[18] = 0xe8; // 1000
    expect((await code(open(bad))).code).toBe('LEGACY_BAD_HEADER');
  });
});

describe('tar', () => {
  it('a header with a bad checksum is ARCHIVE_LAYOUT', async () => {
    const bad = fixtureBytes('tar/legacy-0.1.tar').slice();
    bad[0]! ^= 1;
    expect((await code(open(bad))).code).toBe('ARCHIVE_LAYOUT');
  });
});

describe('sharded', () => {
  const dir = join(FIXTURES, 'sharded');
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as {
    weight_map: Record<string, string>;
  };
  const openIndex = (json: unknown, withResolve = true) =>
    openContainer(fromBytes(text(JSON.stringify(json)), 'x.index.json'), {
      resolve: withResolve ? async (name) => fromBytes(new Uint8Array(readFileSync(join(dir, name)))) : undefined,
    });

  it.each(['../model.safetensors', '/etc/passwd', 'a\\b.bin', 'C:x.bin', 'a//b', './x', ''])(
    'shard name %j is unsafe',
    (name) => {
      expect(() => checkShardName(name, resolveLimits())).toThrow(expect.objectContaining({ code: 'ZIP_UNSAFE_NAME' }));
    },
  );

  it('an unsafe shard name fails before anything is resolved', async () => {
    expect((await code(openIndex({ weight_map: { w: '../escape.safetensors' } }))).code).toBe('ZIP_UNSAFE_NAME');
  });

  it('a name the shard lacks is ARCHIVE_MISSING_RECORD; a shard tensor the index omits is ARCHIVE_LAYOUT', async () => {
    const first = Object.values(index.weight_map)[0]!;
    expect((await code(openIndex({ weight_map: { ...index.weight_map, 'extra.weight': first } }))).code).toBe(
      'ARCHIVE_MISSING_RECORD',
    );
    const partial = Object.fromEntries(Object.entries(index.weight_map).slice(1));
    expect(await code(openIndex({ weight_map: partial }))).toMatchObject({ code: 'ARCHIVE_LAYOUT' });
  });

  it('without resolve it cannot open shards', async () => {
    expect((await code(openIndex(index, false))).code).toBe('UNSUPPORTED_FORMAT');
  });
});

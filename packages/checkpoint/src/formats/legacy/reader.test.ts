import { describe, expect, it } from 'vitest';
import { isCheckpointError } from '../../errors.js';
import { PyGlobal } from '../../pickle/globals.js';
import { fromBytes } from '../../source.js';
import { readContext } from '../../read-context.js';
import { legacyFormat } from './reader.js';
import { strided } from '../../testing/manifest.js';

const enc = (s: string) => [...new TextEncoder().encode(s)];
/** BINUNICODE. */
const X = (s: string) => [0x58, s.length, 0, 0, 0, ...enc(s)];
const GLOBAL = (m: string, n: string) => [0x63, ...enc(`${m}\n${n}\n`)];
const STOP = 0x2e;
/** The three header pickles of a legacy file: magic number, protocol 1001, sys_info (an empty dict here). */
const HEADER = [
  0x80,
  2,
  0x8a,
  0x0a,
  0x6c,
  0xfc,
  0x9c,
  0x46,
  0xf9,
  0x20,
  0x6a,
  0xa8,
  0x50,
  0x19,
  STOP,
  0x80,
  2,
  0x4d,
  0xe9,
  0x03,
  STOP,
  0x80,
  2,
  0x7d,
  STOP,
];

function legacyFile(main: number[], keys: string[], storages: number[][]): Uint8Array {
  const keyList = [0x80, 2, 0x5d, ...keys.flatMap((k) => [...X(k), 0x61]), STOP];
  return Uint8Array.from([...HEADER, 0x80, 2, ...main, STOP, ...keyList, ...storages.flat()]);
}

describe('legacy storage views (view_metadata, 0.3-era writers)', () => {
  // {'v': tensor of 2 floats on view '101' = elements 1..2 of root storage '100' (4 floats)}
  const pid = [
    0x28,
    ...X('storage'),
    ...GLOBAL('torch', 'FloatStorage'),
    ...X('100'),
    ...X('cpu'),
    0x4b,
    4,
    0x28,
    ...X('101'),
    0x4b,
    1,
    0x4b,
    2,
    0x74,
    0x74,
    0x51,
  ];
  const tensor = [
    ...GLOBAL('torch._utils', '_rebuild_tensor_v2'),
    0x28,
    ...pid,
    0x4b,
    0,
    0x4b,
    2,
    0x85,
    0x4b,
    1,
    0x85,
    0x89,
    ...GLOBAL('collections', 'OrderedDict'),
    0x29,
    0x52,
    0x74,
    0x52,
  ];
  const main = [0x7d, ...X('v'), ...tensor, 0x73];
  const root = [
    ...new Uint8Array(new BigInt64Array([4n]).buffer),
    ...new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer),
  ];

  it('a view is its own storage over part of the root', async () => {
    const c = await legacyFormat.open(fromBytes(legacyFile(main, ['100'], [root])), readContext());
    const [t] = strided(c);
    expect([t!.name, t!.ref.storage.key, t!.ref.storage.numel, t!.ref.shape]).toEqual(['v', '101', 2, [2]]);
    expect([...new Float32Array((await c.readStorage(t!.ref.storage)).slice().buffer)]).toEqual([2, 3]);
  });

  it('a view past the end of its root is LEGACY_BAD_VIEW', async () => {
    const tooLong = main.map((b, i) =>
      i > 0 && main[i - 1] === 0x4b && b === 2 && main[i - 3] === 0x4b && main[i - 2] === 1 ? 4 : b,
    );
    expect(tooLong).not.toEqual(main);
    await expect(
      legacyFormat.open(fromBytes(legacyFile(tooLong, ['100'], [root])), readContext()),
    ).rejects.toMatchObject({ code: 'LEGACY_BAD_VIEW' });
  });

  it('a referenced storage missing from the key list is LEGACY_BAD_STORAGE', async () => {
    await expect(legacyFormat.open(fromBytes(legacyFile(main, [], [])), readContext())).rejects.toMatchObject({
      code: 'LEGACY_BAD_STORAGE',
    });
  });
});

describe("legacy ('module', cls, file, source) persistent ids", () => {
  const main = [0x28, ...X('module'), ...GLOBAL('__main__', 'Net'), 0x4e, 0x4e, 0x74, 0x51];

  it('yield the class as an inert global when unknown classes are recorded', async () => {
    const c = await legacyFormat.open(fromBytes(legacyFile(main, [], [])), readContext({ unknownClasses: 'record' }));
    expect(c.root).toBeInstanceOf(PyGlobal);
    expect(String(c.root)).toBe('__main__.Net');
  });

  it('fail with PICKLE_UNSAFE_GLOBAL by default', async () => {
    const e = await legacyFormat.open(fromBytes(legacyFile(main, [], [])), readContext()).catch((x: unknown) => x);
    expect(isCheckpointError(e) && e.code).toBe('PICKLE_UNSAFE_GLOBAL');
  });
});

import { deflateRawSync } from 'node:zlib';
import { buildZip, setU16, setU32, setU64, torchZip, type ZipRecordSpec } from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { fromBytes } from '../source.js';
import { ARANGE6, expectCode, GOLDEN_DUMP, goldenPickle, onlyCheckpointErrors, parseDump } from '../testing/helpers.js';
import { openZip } from './archive.js';

const enc = new TextEncoder();
const open = (bytes: Uint8Array, options = {}) => openZip(fromBytes(bytes), options);
const torchFiles = (): [string, Uint8Array | string][] => [
  ['data.pkl', goldenPickle()],
  ['data/0', ARANGE6],
  ['version', '3\n'],
];
/** A plain archive as Python's zipfile writes it (no descriptors, no padding, no ZIP64). */
const plain = (
  records: ZipRecordSpec[] = [
    { name: 'archive/data.pkl', data: 'hello' },
    { name: 'archive/version', data: '3\n' },
  ],
) => buildZip(records);

describe('openZip: valid archives', () => {
  it('reads stored, deflated, padded, descriptor and ZIP64 records alike', async () => {
    const payload = enc.encode('x'.repeat(5000));
    const zip = buildZip(
      [
        { name: 'a/stored', data: 'hello' },
        { name: 'a/deflated', data: payload, method: 'deflated' },
        { name: 'a/desc', data: 'descriptor', descriptor: true },
        { name: 'a/desc-nosig', data: 'no signature', descriptor: true, descriptorWithoutSignature: true },
        { name: 'a/desc-deflated', data: payload, method: 'deflated', descriptor: true },
        { name: 'a/zip64', data: 'big fields', zip64Sizes: true },
        { name: 'a/zip64-desc', data: 'big fields + descriptor', zip64Sizes: true, descriptor: true },
        { name: 'a/far', data: 'far offset', zip64Offset: true },
        { name: 'a/aligned', data: 'aligned', align: 4096 },
        { name: 'a/empty', data: '' },
        { name: 'a/dir/', data: '' },
      ],
      { zip64End: true, comment: 'a comment' },
    );
    const archive = await open(zip.bytes, { verify: true });
    expect(archive.prefix).toBe('a');
    expect([...archive.entries.keys()]).toEqual([
      'stored',
      'deflated',
      'desc',
      'desc-nosig',
      'desc-deflated',
      'zip64',
      'zip64-desc',
      'far',
      'aligned',
      'empty',
    ]);
    const text = async (name: string) => new TextDecoder().decode(await archive.read(name));
    expect(await text('stored')).toBe('hello');
    expect(await archive.read('deflated')).toEqual(payload);
    expect(await archive.read('desc-deflated')).toEqual(payload);
    expect(await text('desc')).toBe('descriptor');
    expect(await text('desc-nosig')).toBe('no signature');
    expect(await text('zip64')).toBe('big fields');
    expect(await text('zip64-desc')).toBe('big fields + descriptor');
    expect(await text('far')).toBe('far offset');
    expect(await text('empty')).toBe('');
    expect((await archive.dataOffset('aligned')) % 4096).toBe(0);
    expect(await archive.dataOffset('stored')).toBe(zip.entries[0]!.dataOffset);
    expect(archive.entry('deflated')).toMatchObject({
      method: 'deflated',
      size: 5000,
      name: 'a/deflated',
      record: 'deflated',
    });
    await expectCode(() => archive.dataOffset('deflated'), 'ZIP_UNSUPPORTED_METHOD');
  });

  it('opens with a constant number of reads, then reads each record with its header once', async () => {
    const storages = Array.from({ length: 300 }, (_, i): [string, Uint8Array] => [
      `data/${i}`,
      new Uint8Array(i === 7 ? 100_000 : 8).fill(i),
    ]);
    const bytes = torchZip([['data.pkl', goldenPickle()], ...storages, ['version', '3\n']]).bytes; // descriptors, as torch writes
    const reads: [number, number][] = [];
    const inner = fromBytes(bytes);
    const counted = {
      size: inner.size,
      name: undefined,
      read: (offset: number, length: number) => (reads.push([offset, length]), inner.read(offset, length)),
    };
    const archive = await openZip(counted);
    expect(archive.entries.size).toBe(302);
    expect(reads.length).toBeLessThanOrEqual(4); // end records + central directory, none per entry
    reads.length = 0;
    expect(await archive.read('data/3')).toEqual(new Uint8Array(8).fill(3));
    expect(reads.length).toBe(1); // small record: header, data and descriptor in one read
    expect(await archive.read('data/3')).toEqual(new Uint8Array(8).fill(3));
    expect(reads.length).toBe(2); // header already checked: data + descriptor only
    reads.length = 0;
    const into = new Uint8Array(100_000);
    expect(await archive.read('data/7', into)).toBe(into);
    expect(into).toEqual(new Uint8Array(100_000).fill(7));
    expect(reads.length).toBe(3); // large record: header, data into the buffer, descriptor
    expect(await archive.dataOffset('data/7')).toBe(reads.find(([, n]) => n === 100_000)![0]);
    await expect(archive.read('data/7', new Uint8Array(3))).rejects.toThrow(RangeError);
  });

  it('returns the full content of a stored record that starts like a forged data descriptor (yauzl)', async () => {
    const forged = new Uint8Array([0x50, 0x4b, 0x07, 0x08, ...new Array<number>(12).fill(0), 1, 2, 3]);
    const archive = await open(buildZip([{ name: 'a/x', data: forged, descriptor: true }]).bytes);
    expect(await archive.read('x')).toEqual(forged);
  });

  it('torch never checks CRCs: a corrupted stored byte reads without verify and fails with it', async () => {
    const bytes = torchZip(torchFiles()).bytes;
    bytes[320]! ^= 0xff; // first byte of data/0 (offset 320 in the golden vector)
    expect((await (await open(bytes)).read('data/0'))[0]).toBe(0xff);
    await expectCode((await open(bytes, { verify: true })).read('data/0'), 'ZIP_CRC_MISMATCH');
  });

  it('names a missing record and hints at a case variant (B.14)', async () => {
    const archive = await open(plain([{ name: 'archive/Data.pkl', data: 'x' }]).bytes);
    const e = await expectCode(() => archive.entry('data.pkl'), 'ARCHIVE_MISSING_RECORD');
    expect(e.details).toEqual({ caseVariant: 'Data.pkl' });
    await expectCode(archive.read('nope'), 'ARCHIVE_MISSING_RECORD');
  });
});

describe('openZip: end records (B.8–B.11, B.30, B.32)', () => {
  it('B.8 truncated file', async () => {
    const bytes = torchZip(torchFiles()).bytes;
    await expectCode(open(bytes.subarray(0, bytes.length - 10)), 'ZIP_EOCD_NOT_FOUND');
    await expectCode(open(new Uint8Array(0)), 'ZIP_EOCD_NOT_FOUND');
  });

  it('A.4 trailing bytes after the end record', async () => {
    const bytes = torchZip(torchFiles()).bytes;
    await expectCode(open(new Uint8Array([...bytes, ...new Uint8Array(100)])), 'ZIP_TRAILING_DATA');
  });

  it('B.9 a second end record hidden in the comment', async () => {
    const a = plain().bytes;
    const eocd = a.length - 22;
    const cdOffset = new DataView(a.buffer).getUint32(eocd + 16, true);
    const fake = new Uint8Array(22);
    setU32(fake, 0, 0x06054b50);
    setU32(fake, 16, cdOffset);
    const file = new Uint8Array([...a.subarray(0, a.length - 2), 22, 0, ...fake]);
    await expectCode(open(file), 'ZIP_EOCD_AMBIGUOUS');
  });

  it('B.9 an end-record signature in the comment is found at every byte alignment', async () => {
    for (let pad = 0; pad < 4; pad++) {
      const signature = [0x50, 0x4b, 0x05, 0x06];
      const comment = new Uint8Array([
        ...new Array<number>(pad).fill(0x06),
        ...signature,
        ...new Array<number>(24).fill(0x06),
      ]);
      await expectCode(open(buildZip([{ name: 'archive/x', data: 'x' }], { comment }).bytes), 'ZIP_EOCD_AMBIGUOUS');
    }
    // the signature's bytes, but never in order: one end record
    const decoys = new Uint8Array([0x06, 0x05, 0x4b, 0x50, 0x4b, 0x05, 0x50, 0x05, 0x06, 0x50, 0x4b, 0x06]);
    const archive = await open(buildZip([{ name: 'archive/x', data: 'x' }], { comment: decoys }).bytes);
    expect([...archive.entries.keys()]).toEqual(['x']);
  });

  it('B.10 central directory outside the file', async () => {
    const z = plain();
    const b1 = z.bytes.slice();
    setU32(b1, z.eocdOffset + 16, 0x7fffffff);
    await expectCode(open(b1), 'ZIP_CD_OUT_OF_BOUNDS');
    const b2 = z.bytes.slice();
    setU32(b2, z.eocdOffset + 12, z.cdSize + 1);
    await expectCode(open(b2), 'ZIP_CD_OUT_OF_BOUNDS');
    const b3 = z.bytes.slice();
    setU32(b3, z.eocdOffset + 12, z.cdSize - 46);
    await expectCode(open(b3), 'ZIP_CD_MALFORMED');
  });

  it('B.11 entry count lies; B.12 too many entries', async () => {
    const z = plain();
    const b1 = z.bytes.slice();
    setU16(b1, z.eocdOffset + 8, 0xffff);
    setU16(b1, z.eocdOffset + 10, 0xffff);
    await expectCode(open(b1), 'ZIP_ENTRY_COUNT_MISMATCH');
    const b2 = z.bytes.slice();
    setU16(b2, z.eocdOffset + 8, 1);
    setU16(b2, z.eocdOffset + 10, 1);
    await expectCode(open(b2), 'ZIP_ENTRY_COUNT_MISMATCH');
    const t = torchZip(torchFiles());
    const b3 = t.bytes.slice();
    setU16(b3, t.eocdOffset + 8, 0xffff);
    setU16(b3, t.eocdOffset + 10, 0xffff);
    setU64(b3, t.zip64EocdOffset! + 24, 2n ** 64n - 1n);
    setU64(b3, t.zip64EocdOffset! + 32, 2n ** 64n - 1n);
    await expectCode(open(b3), 'ZIP_ENTRY_COUNT_MISMATCH');
    const e = await expectCode(open(t.bytes, { limits: { maxEntries: 2 } }), 'ZIP_TOO_MANY_ENTRIES');
    expect(e.details).toMatchObject({ limit: 'maxEntries', value: 3, max: 2 });
  });

  it('B.30 ZIP64 lies', async () => {
    const z = plain();
    const a = z.bytes.slice();
    setU32(a, z.eocdOffset + 16, 0xffffffff);
    await expectCode(open(a), 'ZIP64_INVALID'); // saturated without locator
    const t = torchZip(torchFiles());
    const b = t.bytes.slice();
    setU64(b, t.locatorOffset! + 8, 2n ** 40n);
    await expectCode(open(b), 'ZIP64_INVALID'); // locator past EOF
    const b2 = t.bytes.slice();
    setU64(b2, t.locatorOffset! + 8, 0);
    await expectCode(open(b2), 'ZIP64_INVALID'); // locator at bytes that are not a ZIP64 end record
    const c = t.bytes.slice();
    setU32(c, t.locatorOffset! + 16, 2);
    await expectCode(open(c), 'ZIP64_INVALID'); // total disks != 1
    const d = t.bytes.slice();
    setU32(d, t.entries[0]!.centralOffset + 20, 0xffffffff);
    await expectCode(open(d), 'ZIP64_INVALID'); // saturated csize without an extra field
    const e = t.bytes.slice();
    setU64(e, t.zip64EocdOffset! + 48, t.cdOffset + 1);
    await expectCode(open(e), 'ZIP64_INVALID'); // 32-bit and 64-bit offsets disagree
    const big = buildZip([{ name: 'a/x', data: 'hello', zip64Sizes: true }]);
    const f = big.bytes.slice();
    setU64(f, big.entries[0]!.centralOffset + 46 + 3 + 4, 2n ** 63n);
    setU64(f, big.entries[0]!.centralOffset + 46 + 3 + 12, 2n ** 63n);
    await expectCode(open(f), 'ZIP_ENTRY_OUT_OF_BOUNDS');
    const g = big.bytes.slice();
    setU16(g, big.entries[0]!.centralOffset + 46 + 3 + 2, 8); // ZIP64 extra shorter than its fields
    await expectCode(open(g), 'ZIP64_INVALID');
  });

  it('B.31 a 64-bit offset is never truncated to 32 bits', async () => {
    const z = buildZip([{ name: 'a/x', data: 'hello', zip64Offset: true }]);
    setU64(z.bytes, z.entries[0]!.centralOffset + 46 + 3 + 4, 2n ** 32n + BigInt(z.entries[0]!.headerOffset));
    await expectCode(open(z.bytes), 'ZIP_ENTRY_OUT_OF_BOUNDS');
  });

  it('B.32 multi-disk fields', async () => {
    const z = plain();
    const a = z.bytes.slice();
    setU16(a, z.eocdOffset + 4, 1);
    await expectCode(open(a), 'ZIP_MULTIDISK');
    const b = z.bytes.slice();
    setU16(b, z.entries[0]!.centralOffset + 34, 1);
    await expectCode(open(b), 'ZIP_MULTIDISK');
  });

  it('A.7 empty archives', async () => {
    await expectCode(open(buildZip([]).bytes), 'ARCHIVE_EMPTY');
    await expectCode(open(buildZip([{ name: 'archive/', data: '' }]).bytes), 'ARCHIVE_EMPTY');
  });
});

describe('openZip: central directory entries (B.13–B.34)', () => {
  it('B.13 / B.14 duplicate and case-colliding names', async () => {
    await expectCode(
      open(
        plain([
          { name: 'archive/data.pkl', data: 'a' },
          { name: 'archive/data.pkl', data: 'b' },
        ]).bytes,
      ),
      'ZIP_DUPLICATE_NAME',
    );
    await expectCode(
      open(
        plain([
          { name: 'archive/data.pkl', data: 'a' },
          { name: 'archive/DATA.PKL', data: 'b' },
        ]).bytes,
      ),
      'ZIP_DUPLICATE_NAME',
    );
  });

  it.each([
    '../../x',
    '/abs/data.pkl',
    'C:\\x\\data.pkl',
    'archive\\data.pkl',
    'archive/./data.pkl',
    'archive//data.pkl',
    'archive/data.pkl\u0000.txt',
    'archive/\u001b[31m',
    'archive/\u202egnp.pkl',
    `archive/${'a'.repeat(2000)}`,
  ])('B.15 unsafe name %j', async (name) => {
    await expectCode(open(plain([{ name, data: 'x' }]).bytes), 'ZIP_UNSAFE_NAME');
  });

  it.each([
    ['archive/.', '"." or ".." segment'],
    ['archive/..', '"." or ".." segment'],
    ['./archive/x', '"." or ".." segment'],
    ['archive/../x', '"." or ".." segment'],
    ['archive//', '"." or ".." segment'],
    ['archive/x\\', 'backslash'],
    ['C:archive/x', 'absolute'],
    ['/archive/x', 'absolute'],
    ['archive/\u0085', 'control or bidi'],
    ['archive/\u2066x', 'control or bidi'],
    ['archive/\u007f/../x', 'control or bidi'],
  ])('B.15 unsafe name %j: the first rule it breaks is named', async (name, reason) => {
    const e = await expectCode(open(plain([{ name, data: 'x' }]).bytes), 'ZIP_UNSAFE_NAME');
    expect(e.message).toContain(reason);
  });

  it('B.15 names with dots, and directory names, are safe', async () => {
    const names = [
      'archive/.data/version',
      'archive/...',
      'archive/..x',
      'archive/x..',
      'archive/a.b/c',
      'archive/Ä/ü',
    ];
    const archive = await open(
      plain([...names.map((name) => ({ name, data: 'x' })), { name: 'archive/d/', data: '' }]).bytes,
    );
    expect([...archive.entries.keys()]).toEqual(names.map((n) => n.slice('archive/'.length)));
  });

  it('B.15 names that are not UTF-8', async () => {
    const z = plain([{ name: 'archive/xy', data: 'x' }]);
    z.bytes[z.entries[0]!.centralOffset + 46 + 8] = 0xff;
    await expectCode(open(z.bytes), 'ZIP_UNSAFE_NAME');
  });

  it('B.16 several roots or no root', async () => {
    await expectCode(
      open(
        plain([
          { name: 'x/version', data: '3' },
          { name: 'archive/data.pkl', data: 'x' },
        ]).bytes,
      ),
      'ARCHIVE_LAYOUT',
    );
    await expectCode(open(plain([{ name: 'README', data: 'x' }]).bytes), 'ARCHIVE_LAYOUT');
  });

  it('B.17 / B.18 local header disagrees with the central directory: the first read of that record fails', async () => {
    const z = plain();
    const lazily = async (bytes: Uint8Array, record: string) => {
      const archive = await open(bytes); // local headers are checked on first read, not at open
      await expectCode(archive.read(record), 'ZIP_HEADER_MISMATCH');
      await expectCode(archive.read(record), 'ZIP_HEADER_MISMATCH'); // and every read after it
      return archive;
    };
    const name = z.bytes.slice();
    name[z.entries[0]!.headerOffset + 30 + 8] = 0x45; // 'archive/Data.pkl' in the LFH only
    const other = await lazily(name, 'data.pkl');
    expect(new TextDecoder().decode(await other.read('version'))).toBe('3\n'); // an intact record still reads
    const method = z.bytes.slice();
    setU16(method, z.entries[0]!.headerOffset + 8, 8);
    await lazily(method, 'data.pkl');
    const flags = buildZip([{ name: 'a/x', data: 'hello', descriptor: true }]);
    setU16(flags.bytes, flags.entries[0]!.headerOffset + 6, 0);
    await lazily(flags.bytes, 'x');
    const sig = z.bytes.slice();
    sig[z.entries[1]!.headerOffset] = 0;
    await lazily(sig, 'version');
    await expectCode((await open(sig)).dataOffset('version'), 'ZIP_HEADER_MISMATCH');
    const crc = z.bytes.slice();
    setU32(crc, z.entries[0]!.headerOffset + 14, 1);
    await lazily(crc, 'data.pkl');
  });

  it("B.17 a large record's header is checked before its data is read (into a caller buffer too)", async () => {
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    const z = buildZip([
      { name: 'a/big', data: big, descriptor: true },
      { name: 'a/version', data: '3\n' },
    ]);
    expect(await (await open(z.bytes)).read('big', new Uint8Array(big.length))).toEqual(big);
    const bad = z.bytes.slice();
    setU16(bad, z.entries[0]!.headerOffset + 8, 8);
    await expectCode((await open(bad)).read('big'), 'ZIP_HEADER_MISMATCH');
    await expectCode((await open(bad)).read('big', new Uint8Array(big.length)), 'ZIP_HEADER_MISMATCH');
  });

  it('B.26 a local extra field that pushes the data over the next entry fails on read', async () => {
    const z = plain([
      { name: 'archive/a', data: 'aaaa' },
      { name: 'archive/b', data: 'bbbb' },
    ]);
    setU16(z.bytes, z.entries[0]!.headerOffset + 28, 40); // extra length 40: data would start inside b's header
    const archive = await open(z.bytes);
    await expectCode(archive.read('a'), 'ZIP_OVERLAP');
    expect(new TextDecoder().decode(await archive.read('b'))).toBe('bbbb');
  });

  it('B.20 a data descriptor that disagrees with the central directory', async () => {
    const z = buildZip([{ name: 'a/x', data: 'hello', descriptor: true }]);
    setU32(z.bytes, z.entries[0]!.dataOffset + 5 + 4, 1); // descriptor CRC
    await expectCode((await open(z.bytes)).read('x'), 'ZIP_HEADER_MISMATCH');
    await expectCode((await open(z.bytes)).read('x', new Uint8Array(5)), 'ZIP_HEADER_MISMATCH');
  });

  it.each([0x0001, 0x0020, 0x0040, 0x2000])('B.21 flag 0x%s is refused', async (flag) => {
    await expectCode(open(buildZip([{ name: 'a/x', data: 'hello', flags: flag }]).bytes), 'ZIP_UNSUPPORTED_FLAG');
  });

  it.each([99, 12, 14, 93, 9])('B.22 compression method %i is refused', async (method) => {
    const z = buildZip([{ name: 'a/x', data: 'hello' }]);
    setU16(z.bytes, z.entries[0]!.centralOffset + 10, method);
    setU16(z.bytes, z.entries[0]!.headerOffset + 8, method);
    await expectCode(open(z.bytes), 'ZIP_UNSUPPORTED_METHOD');
  });

  it('B.24 stored entry with unequal sizes; B.25 data beyond EOF', async () => {
    const z = plain();
    const a = z.bytes.slice();
    setU32(a, z.entries[0]!.centralOffset + 20, 100);
    await expectCode(open(a), 'ZIP_SIZE_MISMATCH');
    const b = z.bytes.slice();
    setU32(b, z.entries[1]!.centralOffset + 20, 0x7fffffff);
    setU32(b, z.entries[1]!.centralOffset + 24, 0x7fffffff);
    await expectCode(open(b), 'ZIP_ENTRY_OUT_OF_BOUNDS');
  });

  it('B.26 / B.27 overlapping entries and shared local headers', async () => {
    const z = plain([
      { name: 'archive/a', data: 'aaaa' },
      { name: 'archive/b', data: 'bbbb' },
    ]);
    const shared = z.bytes.slice();
    setU32(shared, z.entries[1]!.centralOffset + 42, z.entries[0]!.headerOffset);
    await expectCode(open(shared), 'ZIP_OVERLAP');
    const quoted = z.bytes.slice(); // A's data spans B's header and data, up to the CD
    const size = z.cdOffset - (30 + 'archive/a'.length);
    for (const at of [z.entries[0]!.centralOffset, z.entries[0]!.headerOffset - 4]) {
      setU32(quoted, at + 20, size);
      setU32(quoted, at + 24, size);
    }
    await expectCode(open(quoted), 'ZIP_OVERLAP');
    const intoCd = z.bytes.slice();
    setU32(intoCd, z.entries[1]!.centralOffset + 20, 40);
    setU32(intoCd, z.entries[1]!.centralOffset + 24, 40);
    await expectCode(open(intoCd), 'ZIP_OVERLAP');
  });

  it('B.27 non-recursive bomb analogue: many directory entries, one deflate stream', async () => {
    const kernel = new Uint8Array(deflateRawSync(new Uint8Array(1 << 20)));
    const records: ZipRecordSpec[] = [{ name: 'a/k0', data: new Uint8Array(1 << 20), method: 'deflated' }];
    for (let i = 1; i < 100; i++) records.push({ name: `a/k${i}`, data: 'x' });
    const z = buildZip(records);
    for (let i = 1; i < 100; i++) {
      const cd = z.entries[i]!.centralOffset;
      setU16(z.bytes, cd + 10, 8);
      setU32(z.bytes, cd + 20, kernel.length);
      setU32(z.bytes, cd + 24, 1 << 20);
      setU32(z.bytes, cd + 42, z.entries[0]!.headerOffset);
    }
    await expectCode(open(z.bytes), 'ZIP_OVERLAP');
  });

  it('B.28 deflate size lies and bombs', async () => {
    const zeros = new Uint8Array(1 << 20);
    const z = buildZip([{ name: 'a/x', data: zeros, method: 'deflated' }]);
    const lie = z.bytes.slice();
    setU32(lie, z.entries[0]!.centralOffset + 24, 10);
    setU32(lie, z.entries[0]!.headerOffset + 22, 10);
    await expectCode((await open(lie)).read('x'), 'ZIP_SIZE_MISMATCH');
    const short = z.bytes.slice();
    setU32(short, z.entries[0]!.centralOffset + 24, (1 << 20) + 1);
    setU32(short, z.entries[0]!.headerOffset + 22, (1 << 20) + 1);
    await expectCode((await open(short)).read('x'), 'ZIP_SIZE_MISMATCH');
    await expectCode(open(z.bytes, { limits: { maxInflateRatio: 100 } }), 'ZIP_BOMB');
    const corrupt = buildZip([{ name: 'a/x', data: 'hello hello hello', method: 'deflated' }]);
    corrupt.bytes.fill(
      0xff,
      corrupt.entries[0]!.dataOffset,
      corrupt.entries[0]!.dataOffset + corrupt.entries[0]!.storedLength,
    );
    await expectCode((await open(corrupt.bytes)).read('x'), 'ZIP_CORRUPT_DATA');
  });

  it('B.33 fields overrunning the central directory', async () => {
    const z = plain();
    const a = z.bytes.slice();
    setU16(a, z.entries[1]!.centralOffset + 28, 500);
    await expectCode(open(a), 'ZIP_CD_MALFORMED');
    const big = buildZip([{ name: 'a/x', data: 'hello', zip64Sizes: true }]);
    setU16(big.bytes, big.entries[0]!.centralOffset + 46 + 3 + 2, 200);
    await expectCode(open(big.bytes), 'ZIP_CD_MALFORMED');
  });

  it('B.34 directory entries must be empty', async () => {
    await expectCode(open(plain([{ name: 'archive/data/', data: 'hello' }]).bytes), 'ZIP_CD_MALFORMED');
  });
});

describe('openZip: robustness', () => {
  const golden = parseDump(GOLDEN_DUMP);
  const readAll = async (bytes: Uint8Array) => {
    const archive = await open(bytes, { verify: true });
    for (const name of archive.entries.keys()) await archive.read(name);
  };

  it('every truncation of the golden archive fails with a CheckpointError', async () => {
    for (let n = 0; n < golden.length; n++) {
      await expect(readAll(golden.subarray(0, n))).rejects.toMatchObject({ name: 'CheckpointError' });
    }
  });

  it('every single-byte corruption either reads or fails with a CheckpointError', async () => {
    for (let i = 0; i < golden.length; i++) {
      const bytes = golden.slice();
      bytes[i]! ^= 0x5a;
      await onlyCheckpointErrors(() => readAll(bytes));
    }
  });
});

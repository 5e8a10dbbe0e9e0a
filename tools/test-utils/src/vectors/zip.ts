/**
 * Vectors 8–34: zip structure. Field offsets (APPNOTE.TXT 4.3.7, 4.3.12): local
 * header flags +6, method +8, sizes +18/+22, name +30; central header flags +8, method +10,
 * sizes +20/+24, name length +28, comment length +32, disk +34, local offset +42, name +46.
 *
 * @module
 */
import { crc32 } from 'node:zlib';
import { PickleBuilder } from '../pickle-builder.js';
import { buildZip, setU16, setU32, setU64, torchZip, type BuiltZip, type ZipRecordSpec } from '../zip-builder.js';
import {
  bytesOf,
  checkpointZip,
  concat,
  float32Bytes,
  latin1,
  stateDictPickle,
  validCheckpoint,
  VALID_BIAS,
  VALID_WEIGHT,
  type HostileCase,
} from './common.js';

const VERSION: ZipRecordSpec = { name: 'archive/version', data: '3\n' };

/** The valid checkpoint's records as plain stored entries: no descriptors, no padding, no ZIP64. */
function plainRecords(): ZipRecordSpec[] {
  const { pkl, storages } = validCheckpoint();
  return [
    { name: 'archive/data.pkl', data: pkl },
    ...storages.map(([k, b]) => ({ name: `archive/data/${k}`, data: b })),
    VERSION,
  ];
}

/** The valid checkpoint as a plain zip (what Python's zipfile writes). */
function plainZip(): BuiltZip {
  return buildZip(plainRecords());
}

/** `zip` with `patch` applied to a copy of its bytes. */
function patched(zip: BuiltZip, patch: (bytes: Uint8Array, zip: BuiltZip) => void): Uint8Array {
  const bytes = zip.bytes.slice();
  patch(bytes, zip);
  return bytes;
}

const at = (zip: BuiltZip, i: number) => zip.entries.at(i)!;

/**
 * Vectors 8–12: truncation, a second EOCD in the comment, a directory outside the file, lying
 * entry counts, too many entries.
 */
export function endRecordVectors(): HostileCase[] {
  const torch = validCheckpoint().zip;
  const plain = plainZip();
  const u32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset).getUint32(o, true);
  const fake = new Uint8Array(22);
  setU32(fake, 0, 0x06054b50);
  setU32(fake, 16, u32(plain.bytes, plain.eocdOffset + 16));
  const commentLength = new Uint8Array(2);
  setU16(commentLength, 0, fake.length);
  const eleven = buildZip([
    { name: 'archive/data.pkl', data: latin1('\x80\x02N.') },
    ...Array.from({ length: 10 }, (_, i) => ({ name: `archive/x${i}`, data: '' })),
  ]);
  return [
    { vector: 8, name: 'last 10 bytes dropped', bytes: torch.bytes.slice(0, -10), code: 'ZIP_EOCD_NOT_FOUND' },
    {
      vector: 9,
      name: 'second EOCD in the comment',
      bytes: concat(plain.bytes.subarray(0, -2), commentLength, fake),
      code: 'ZIP_EOCD_AMBIGUOUS',
    },
    {
      vector: 10,
      name: 'cd offset 0x7fffffff',
      bytes: patched(plain, (b, z) => setU32(b, z.eocdOffset + 16, 0x7fffffff)),
      code: 'ZIP_CD_OUT_OF_BOUNDS',
    },
    {
      vector: 10,
      name: 'cd size beyond the file',
      bytes: patched(plain, (b, z) => setU32(b, z.eocdOffset + 12, b.length * 2)),
      code: 'ZIP_CD_OUT_OF_BOUNDS',
    },
    {
      vector: 11,
      name: 'eocd count 0xffff',
      bytes: patched(plain, (b, z) => (setU16(b, z.eocdOffset + 8, 0xffff), setU16(b, z.eocdOffset + 10, 0xffff))),
      code: 'ZIP_ENTRY_COUNT_MISMATCH',
    },
    {
      vector: 11,
      name: 'zip64 count 2^64-1',
      bytes: patched(torch, (b, z) => {
        setU16(b, z.eocdOffset + 8, 0xffff);
        setU16(b, z.eocdOffset + 10, 0xffff);
        setU64(b, z.zip64EocdOffset! + 24, 2n ** 64n - 1n);
        setU64(b, z.zip64EocdOffset! + 32, 2n ** 64n - 1n);
      }),
      code: 'ZIP_ENTRY_COUNT_MISMATCH',
    },
    {
      vector: 12,
      name: '150 000 entries',
      bytes: manyEntries(150_000),
      code: 'ZIP_TOO_MANY_ENTRIES',
      details: { limit: 'maxEntries' },
    },
    {
      vector: 12,
      name: '11 entries over maxEntries 10',
      bytes: eleven.bytes,
      code: 'ZIP_TOO_MANY_ENTRIES',
      options: { limits: { maxEntries: 10 } },
    },
  ];
}

/**
 * An archive of `n` empty stored entries `archive/x<i>` (one local header each, ZIP64 end
 * records), written straight into a typed array: about 100 bytes per entry.
 */
export function manyEntries(n: number): Uint8Array {
  const names = Array.from({ length: n }, (_, i) => bytesOf(`archive/x${i}`));
  const localSize = names.reduce((s, name) => s + 30 + name.length, 0);
  const cdSize = names.reduce((s, name) => s + 46 + name.length, 0);
  const out = new Uint8Array(localSize + cdSize + 56 + 20 + 22);
  const v = new DataView(out.buffer);
  const crc = 0;
  let p = 0;
  const offsets: number[] = [];
  for (const name of names) {
    offsets.push(p);
    v.setUint32(p, 0x04034b50, true);
    v.setUint16(p + 6, 0x0800, true);
    v.setUint32(p + 14, crc, true);
    v.setUint16(p + 26, name.length, true);
    out.set(name, p + 30);
    p += 30 + name.length;
  }
  const cdOffset = p;
  names.forEach((name, i) => {
    v.setUint32(p, 0x02014b50, true);
    v.setUint16(p + 8, 0x0800, true);
    v.setUint16(p + 28, name.length, true);
    v.setUint32(p + 42, offsets[i]!, true);
    out.set(name, p + 46);
    p += 46 + name.length;
  });
  const z64 = p;
  v.setUint32(p, 0x06064b50, true);
  v.setBigUint64(p + 4, 44n, true);
  v.setUint16(p + 12, 45, true);
  v.setUint16(p + 14, 45, true);
  v.setBigUint64(p + 24, BigInt(n), true);
  v.setBigUint64(p + 32, BigInt(n), true);
  v.setBigUint64(p + 40, BigInt(cdSize), true);
  v.setBigUint64(p + 48, BigInt(cdOffset), true);
  p += 56;
  v.setUint32(p, 0x07064b50, true);
  v.setBigUint64(p + 8, BigInt(z64), true);
  v.setUint32(p + 16, 1, true);
  p += 20;
  v.setUint32(p, 0x06054b50, true);
  v.setUint16(p + 8, 0xffff, true);
  v.setUint16(p + 10, 0xffff, true);
  v.setUint32(p + 12, cdSize, true);
  v.setUint32(p + 16, cdOffset, true);
  return out;
}

/** Vectors 13–16: duplicate, case-colliding and unsafe names; several roots or none. */
export function nameVectors(): HostileCase[] {
  const pkl = latin1('\x80\x02N.');
  const other = latin1('\x80\x02K\x01.');
  const unsafe = [
    '../../x',
    '/abs/data.pkl',
    'C:\\x\\data.pkl',
    'archive\\data.pkl',
    'archive/./data.pkl',
    'archive//data.pkl',
    'archive/data.pkl\u0000.txt',
    'archive/\u001b[31mred',
    'archive/\u202etxt.pkl',
    `archive/${'a'.repeat(2000)}`,
  ];
  return [
    {
      vector: 13,
      name: 'data.pkl twice',
      bytes: buildZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/data.pkl', data: other }, VERSION])
        .bytes,
      code: 'ZIP_DUPLICATE_NAME',
    },
    {
      vector: 14,
      name: 'data.pkl and DATA.PKL',
      bytes: buildZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/DATA.PKL', data: other }, VERSION])
        .bytes,
      code: 'ZIP_DUPLICATE_NAME',
    },
    {
      vector: 14,
      name: 'only Data.pkl',
      bytes: buildZip([{ name: 'archive/Data.pkl', data: pkl }, VERSION]).bytes,
      code: 'ARCHIVE_MISSING_RECORD',
      details: { caseVariant: 'Data.pkl' },
    },
    ...unsafe.map(
      (name): HostileCase => ({
        vector: 15,
        name: `unsafe name ${JSON.stringify(name.slice(0, 24))}`,
        bytes: buildZip([{ name: 'archive/data.pkl', data: pkl }, { name, data: other }, VERSION]).bytes,
        code: 'ZIP_UNSAFE_NAME',
      }),
    ),
    {
      vector: 16,
      name: 'two roots',
      bytes: buildZip([{ name: 'x/version', data: '3\n' }, { name: 'archive/data.pkl', data: pkl }, VERSION]).bytes,
      code: 'ARCHIVE_LAYOUT',
    },
    {
      vector: 16,
      name: 'no root',
      bytes: buildZip([
        { name: 'data.pkl', data: pkl },
        { name: 'version', data: '3\n' },
      ]).bytes,
      code: 'ARCHIVE_LAYOUT',
    },
  ];
}

/**
 * Vectors 17–20: local header disagreeing with the central directory (name, method, flags,
 * descriptor), and the legitimate torch layout (`FB` padding in the local header only, data
 * descriptors) including stored data that looks like a descriptor.
 */
export function headerVectors(): HostileCase[] {
  const plain = plainZip();
  const deflated = buildZip(plainRecords().map((r, i) => (i === 0 ? { ...r, method: 'deflated' as const } : r)));
  const described = buildZip(plainRecords().map((r, i) => (i === 0 ? { ...r, descriptor: true, flags: 0x0008 } : r)));
  const torch = validCheckpoint().zip;
  const forged = concat(latin1('PK\x07\x08'), new Uint8Array(12), float32Bytes([4, 5]));
  const forgedZip = checkpointZip(
    stateDictPickle([
      ['weight', VALID_WEIGHT],
      ['bias', VALID_BIAS],
    ]),
    [
      ['0', forged],
      ['1', float32Bytes([10, 20])],
    ],
  );
  const dataEntry = (z: BuiltZip) => z.entries.find((e) => e.name === 'archive/data/0')!;
  return [
    {
      vector: 17,
      name: 'local name differs',
      bytes: patched(plain, (b, z) => b.set(bytesOf('archive/evil.pkl'), at(z, 0).headerOffset + 30)),
      code: 'ZIP_HEADER_MISMATCH',
    },
    {
      vector: 18,
      name: 'local method 8, central 0',
      bytes: patched(plain, (b, z) => setU16(b, at(z, 0).headerOffset + 8, 8)),
      code: 'ZIP_HEADER_MISMATCH',
    },
    {
      vector: 18,
      name: 'local method 0, central 8',
      bytes: patched(deflated, (b, z) => setU16(b, at(z, 0).headerOffset + 8, 0)),
      code: 'ZIP_HEADER_MISMATCH',
    },
    {
      vector: 18,
      name: 'local flags 0, central 8',
      bytes: patched(described, (b, z) => setU16(b, at(z, 0).headerOffset + 6, 0)),
      code: 'ZIP_HEADER_MISMATCH',
    },
    {
      vector: 19,
      name: 'FB padding in the local header only',
      bytes: torch.bytes,
      accepted:
        'torch pads records to 64 bytes with an FB extra field in the local header only; data starts after the LOCAL extra field',
    },
    {
      vector: 20,
      name: 'data descriptors and ZIP64 end records',
      bytes: torch.bytes,
      accepted: "torch's writer: flags 0x0808, zero local sizes, PK\\x07\\x08 descriptors, ZIP64 end records",
    },
    {
      vector: 20,
      name: 'stored data that looks like a descriptor',
      bytes: forgedZip.bytes,
      accepted: 'sizes come from the central directory, so data that starts with PK\\x07\\x08 is read whole',
    },
    {
      vector: 20,
      name: 'descriptor CRC differs from the central directory',
      bytes: patched(torch, (b, z) => {
        const e = dataEntry(z);
        const crcAt = e.dataOffset + e.storedLength + 4;
        setU32(b, crcAt, new DataView(b.buffer).getUint32(crcAt, true) ^ 1);
      }),
      code: 'ZIP_HEADER_MISMATCH',
      stage: 'load',
    },
  ];
}

/** Vectors 21–25: flag bits, compression methods, CRC, stored sizes, data beyond EOF. */
export function entryFieldVectors(): HostileCase[] {
  const plain = plainZip();
  const both = (flags: number) => (b: Uint8Array, z: BuiltZip) => {
    setU16(b, at(z, 0).headerOffset + 6, flags);
    setU16(b, at(z, 0).centralOffset + 8, flags);
  };
  const method = (m: number) => (b: Uint8Array, z: BuiltZip) => {
    setU16(b, at(z, 0).headerOffset + 8, m);
    setU16(b, at(z, 0).centralOffset + 10, m);
  };
  const flip = (b: Uint8Array, z: BuiltZip) => {
    const e = z.entries.find((x) => x.name === 'archive/data/0')!;
    b[e.dataOffset + 3]! ^= 0x40; // first float 0.0 becomes 2.0
  };
  return [
    ...[0x0001, 0x0020, 0x0040].map(
      (f): HostileCase => ({
        vector: 21,
        name: `flag 0x${f.toString(16)}`,
        bytes: patched(plain, both(f | 0x0800)),
        code: 'ZIP_UNSUPPORTED_FLAG',
      }),
    ),
    ...[99, 12, 14, 93, 9].map(
      (m): HostileCase => ({
        vector: 22,
        name: `method ${m}`,
        bytes: patched(plain, method(m)),
        code: 'ZIP_UNSUPPORTED_METHOD',
      }),
    ),
    {
      vector: 23,
      name: 'crc mismatch, verify',
      bytes: patched(plain, flip),
      code: 'ZIP_CRC_MISMATCH',
      stage: 'load',
      options: { verify: true },
    },
    {
      vector: 23,
      name: 'crc mismatch, default',
      bytes: patched(plain, flip),
      accepted:
        'torch never verifies CRC-32 (and torch >= 2.6 can write none); the bytes read are the bytes parsed, so there is no scanner/loader divergence. verify: true checks it',
    },
    {
      vector: 24,
      name: 'stored csize 100 usize 50',
      bytes: patched(
        plain,
        (b, z) => (setU32(b, at(z, 0).centralOffset + 20, 100), setU32(b, at(z, 0).centralOffset + 24, 50)),
      ),
      code: 'ZIP_SIZE_MISMATCH',
    },
    {
      vector: 25,
      name: 'last entry csize 0x7fffffff',
      bytes: patched(
        plain,
        (b, z) => (
          setU32(b, at(z, -1).centralOffset + 20, 0x7fffffff), setU32(b, at(z, -1).centralOffset + 24, 0x7fffffff)
        ),
      ),
      code: 'ZIP_ENTRY_OUT_OF_BOUNDS',
    },
  ];
}

/** Vectors 26–28: overlapping entries, a Fifield-style non-recursive bomb, deflate size lies. */
export function overlapVectors(): HostileCase[] {
  const two = buildZip([
    { name: 'archive/data.pkl', data: latin1('\x80\x02N.') },
    { name: 'archive/a', data: 'aaaa' },
    { name: 'archive/b', data: 'bbbb' },
    VERSION,
  ]);
  const quoted = patched(two, (b, z) => {
    const a = at(z, 1);
    const size = z.cdOffset - (a.headerOffset + 30 + 'archive/a'.length);
    const crc = crc32(b.subarray(a.dataOffset, a.dataOffset + size));
    for (const [base, crcAt, sizesAt] of [
      [a.headerOffset, 14, 18],
      [a.centralOffset, 16, 20],
    ] as const) {
      setU32(b, base + crcAt, crc);
      setU32(b, base + sizesAt, size);
      setU32(b, base + sizesAt + 4, size);
    }
  });
  const sameOffset = patched(two, (b, z) => setU32(b, at(z, 2).centralOffset + 42, at(z, 1).headerOffset));
  const intoCd = patched(two, (b, z) => {
    const last = at(z, -1);
    for (const o of [last.centralOffset + 20, last.centralOffset + 24, last.headerOffset + 18, last.headerOffset + 22])
      setU32(b, o, last.storedLength + 10);
  });

  const zeros = new Uint8Array(50 * 2 ** 20);
  const bytePkl = (numel: number) =>
    new PickleBuilder()
      .proto(2)
      .orderedDict()
      .mark()
      .str('z')
      .tensorV2({ storage: 'ByteStorage', key: '0', location: 'cpu', numel, offset: 0, size: [numel], stride: [1] })
      .setitems()
      .stop()
      .bytes();
  const bomb = (numel: number) =>
    buildZip([
      { name: 'archive/data.pkl', data: bytePkl(numel) },
      { name: 'archive/data/0', data: zeros, method: 'deflated' },
      VERSION,
    ]);
  const lie = patched(bomb(10), (b, z) => {
    const e = at(z, 1);
    setU32(b, e.headerOffset + 22, 10);
    setU32(b, e.centralOffset + 24, 10);
  });
  const honest = bomb(zeros.length).bytes;
  return [
    { vector: 26, name: 'entry a spans entry b (quoted overlap)', bytes: quoted, code: 'ZIP_OVERLAP' },
    { vector: 26, name: 'two central headers, one local header', bytes: sameOffset, code: 'ZIP_OVERLAP' },
    { vector: 26, name: 'entry reaches into the central directory', bytes: intoCd, code: 'ZIP_OVERLAP' },
    { vector: 27, name: '1000 entries share one deflate stream', bytes: sharedKernel(1000), code: 'ZIP_OVERLAP' },
    { vector: 28, name: '50 MiB of zeros declared as 10 bytes', bytes: lie, code: 'ZIP_SIZE_MISMATCH', stage: 'load' },
    {
      vector: 28,
      name: 'honest 50 MiB over maxInflateRatio 100',
      bytes: honest,
      code: 'ZIP_BOMB',
      options: { limits: { maxInflateRatio: 100 } },
    },
    {
      vector: 28,
      name: 'honest 50 MiB over maxTensorBytes 1 MiB',
      bytes: honest,
      code: 'TENSOR_TOO_LARGE',
      stage: 'load',
      options: { limits: { maxTensorBytes: 2 ** 20 } },
    },
  ];
}

/**
 * A non-recursive zip bomb in miniature (Fifield, WOOT 2019): `n` central headers with distinct
 * names whose local offsets all point at one deflated MiB of zeros.
 */
export function sharedKernel(n: number): Uint8Array {
  const kernel = buildZip([{ name: 'archive/k000', data: new Uint8Array(2 ** 20), method: 'deflated' }]);
  const cdh = kernel.bytes.subarray(kernel.cdOffset, kernel.cdOffset + kernel.cdSize);
  const headers = Array.from({ length: n }, (_, i) => {
    const h = cdh.slice();
    h.set(bytesOf(String(i).padStart(3, '0')), 46 + 'archive/k'.length);
    return h;
  });
  const eocd = kernel.bytes.slice(kernel.eocdOffset);
  setU16(eocd, 8, n);
  setU16(eocd, 10, n);
  setU32(eocd, 12, cdh.length * n);
  return concat(kernel.bytes.subarray(0, kernel.cdOffset), ...headers, eocd);
}

/**
 * Vectors 29–34: a zip inside `data.pkl`, ZIP64 lies, 64-bit truncation, multi-disk fields,
 * central-directory overruns, directory entries.
 */
export function structureVectors(): HostileCase[] {
  const plain = plainZip();
  const torch = validCheckpoint().zip;
  const wide = buildZip(plainRecords().map((r, i) => (i === 0 ? { ...r, zip64Sizes: true } : r)));
  const far = buildZip(plainRecords().map((r, i, all) => (i === all.length - 1 ? { ...r, zip64Offset: true } : r)));
  const extraAt = (z: BuiltZip, i: number) => at(z, i).centralOffset + 46 + bytesOf(at(z, i).name).length;
  const inner = validCheckpoint().zip.bytes;
  return [
    {
      vector: 29,
      name: 'data.pkl is a zip',
      bytes: torchZip([
        ['data.pkl', inner],
        ['version', '3\n'],
      ]).bytes,
      code: 'PICKLE_STRING',
    },
    {
      vector: 30,
      name: 'saturated eocd without locator',
      bytes: patched(plain, (b, z) => setU32(b, z.eocdOffset + 12, 0xffffffff)),
      code: 'ZIP64_INVALID',
    },
    {
      vector: 30,
      name: 'locator past EOF',
      bytes: patched(torch, (b, z) => setU64(b, z.locatorOffset! + 8, b.length + 100)),
      code: 'ZIP64_INVALID',
    },
    {
      vector: 30,
      name: 'locator at a local header',
      bytes: patched(torch, (b, z) => setU64(b, z.locatorOffset! + 8, 0)),
      code: 'ZIP64_INVALID',
    },
    {
      vector: 30,
      name: 'locator total disks 2',
      bytes: patched(torch, (b, z) => setU32(b, z.locatorOffset! + 16, 2)),
      code: 'ZIP64_INVALID',
    },
    {
      vector: 30,
      name: 'csize 0xffffffff without zip64 extra',
      bytes: patched(plain, (b, z) => setU32(b, at(z, 0).centralOffset + 20, 0xffffffff)),
      code: 'ZIP64_INVALID',
    },
    {
      vector: 30,
      name: 'zip64 extra lacks the offset',
      bytes: patched(wide, (b, z) => setU32(b, at(z, 0).centralOffset + 42, 0xffffffff)),
      code: 'ZIP64_INVALID',
    },
    {
      vector: 30,
      name: 'zip64 sizes 2^63 on a stored entry',
      bytes: patched(
        wide,
        (b, z) => (setU64(b, extraAt(z, 0) + 4, 2n ** 63n), setU64(b, extraAt(z, 0) + 12, 2n ** 63n)),
      ),
      code: 'ZIP_ENTRY_OUT_OF_BOUNDS',
    },
    {
      vector: 31,
      name: 'local offset 2^32 + real',
      bytes: patched(far, (b, z) => setU64(b, extraAt(z, -1) + 4, 2 ** 32 + at(z, -1).headerOffset)),
      code: 'ZIP_ENTRY_OUT_OF_BOUNDS',
    },
    {
      vector: 32,
      name: 'eocd disk 1',
      bytes: patched(torch, (b, z) => setU16(b, z.eocdOffset + 4, 1)),
      code: 'ZIP_MULTIDISK',
    },
    {
      vector: 32,
      name: 'central header disk 1',
      bytes: patched(torch, (b, z) => setU16(b, at(z, 0).centralOffset + 34, 1)),
      code: 'ZIP_MULTIDISK',
    },
    {
      vector: 33,
      name: 'name length past the directory',
      bytes: patched(plain, (b, z) => setU16(b, at(z, -1).centralOffset + 28, 0xffff)),
      code: 'ZIP_CD_MALFORMED',
    },
    {
      vector: 33,
      name: 'extra field declares 200 bytes',
      bytes: patched(wide, (b, z) => setU16(b, extraAt(z, 0) + 2, 200)),
      code: 'ZIP_CD_MALFORMED',
    },
    {
      vector: 33,
      name: 'comment length past the directory',
      bytes: patched(plain, (b, z) => setU16(b, at(z, -1).centralOffset + 32, 0xffff)),
      code: 'ZIP_CD_MALFORMED',
    },
    {
      vector: 34,
      name: 'directory entry with 5 bytes',
      bytes: buildZip([...plainRecords(), { name: 'archive/data/', data: 'abcde' }]).bytes,
      code: 'ZIP_CD_MALFORMED',
    },
    {
      vector: 34,
      name: 'empty directory entry',
      bytes: buildZip([plainRecords()[0]!, { name: 'archive/data/', data: '' }, ...plainRecords().slice(1)]).bytes,
      accepted: 'zero-size directory entries are ignored',
    },
  ];
}

/** All cases of vectors 8–34. */
export function zipVectors(): HostileCase[] {
  return [
    ...endRecordVectors(),
    ...nameVectors(),
    ...headerVectors(),
    ...entryFieldVectors(),
    ...overlapVectors(),
    ...structureVectors(),
  ];
}

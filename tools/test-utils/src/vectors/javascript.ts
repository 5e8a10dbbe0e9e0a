/**
 * Vectors 88–95: JavaScript-specific hazards — prototype keys, key
 * order, integer precision, float bit patterns, platform limits, message hygiene. Vectors 96
 * (seeded mutations) and 97 (lying async sources) are built by the tests that run them.
 *
 * @module
 */
import { OP, PickleBuilder } from '../pickle-builder.js';
import { buildZip, setU32 } from '../zip-builder.js';
import {
  arangeBytes,
  bytesOf,
  checkpointZip,
  concat,
  floatTensor,
  latin1,
  pickleZip,
  stateDictPickle,
  type HostileCase,
} from './common.js';

/** Vectors 88–93: data that JavaScript objects would misread; all of it is read, exactly. */
export function javascriptValueVectors(): HostileCase[] {
  const proto = latin1(
    '\x80\x02}q\x00(X\t\x00\x00\x00__proto__q\x01}q\x02X\x08\x00\x00\x00pollutedq\x03K\x01sX\x0b\x00\x00\x00constructorq\x04}q\x05X\t\x00\x00\x00prototypeq\x06}q\x07X\x01\x00\x00\x00xq\x08K\x01ssu.',
  );
  const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];
  const dotted = ['a.__proto__.polluted', 'constructor.prototype.polluted', '__proto__.x'];
  const named = (keys: readonly string[]) =>
    checkpointZip(stateDictPickle(keys.map((k, i) => [k, floatTensor('0', 4, [1], [1], i)] as const)), [
      ['0', arangeBytes(4)],
    ]).bytes;
  const order = new PickleBuilder()
    .proto(2)
    .orderedDict()
    .mark()
    .str('10')
    .int(1)
    .str('2')
    .int(2)
    .str('a')
    .int(3)
    .setitems()
    .stop()
    .bytes();
  const ints = new PickleBuilder()
    .proto(2)
    .emptyList()
    .mark()
    .binint(-1)
    .binint2(65535)
    .long(2n ** 53n + 1n)
    .long(-(2n ** 63n))
    .appends()
    .stop()
    .bytes();
  const payload = new Uint8Array(8);
  new DataView(payload.buffer).setBigUint64(0, 0x7ff0000000000001n, false);
  const floats = new PickleBuilder()
    .proto(2)
    .emptyList()
    .mark()
    .binfloat(Number.NaN)
    .binfloat(-0)
    .raw(OP.BINFLOAT, payload)
    .appends()
    .stop()
    .bytes();
  return [
    {
      vector: 88,
      name: '__proto__ and constructor dict keys',
      bytes: pickleZip(proto).bytes,
      accepted: 'dicts are Maps: own entries, no prototype change',
    },
    {
      vector: 89,
      name: 'tensor names __proto__, constructor, hasOwnProperty, toString',
      bytes: named(names),
      accepted: 'every tensor reachable by name',
    },
    {
      vector: 90,
      name: 'dotted names through __proto__',
      bytes: named(dotted),
      accepted: 'names are kept whole; nothing nests them into objects',
    },
    {
      vector: 91,
      name: 'OrderedDict keys "10", "2", "a"',
      bytes: pickleZip(order).bytes,
      accepted: 'insertion order is kept (a plain object would enumerate "2" first)',
    },
    {
      vector: 92,
      name: 'ints -1, 65535, 2^53+1, -2^63',
      bytes: pickleZip(ints).bytes,
      accepted: 'integers beyond 2^53 are bigints',
    },
    {
      vector: 93,
      name: 'floats NaN, -0.0, 0x7ff0000000000001',
      bytes: pickleZip(floats).bytes,
      accepted: 'NaN and -0 survive; NaN payloads in metadata are not preserved by JS numbers',
    },
  ];
}

/**
 * Vector 94 (small form): a ZIP64 stored `data/0` declaring 5 GiB in a file of a few hundred
 * bytes; the declared extent is checked against the file before anything is read.
 */
export function declaredHugeRecord(): HostileCase {
  const five = 5 * 2 ** 30;
  const pkl = stateDictPickle([
    ['huge', { storage: 'ByteStorage', key: '0', location: 'cpu', numel: five, offset: 0, size: [five], stride: [1] }],
  ]);
  const zip = buildZip([
    { name: 'archive/data.pkl', data: pkl },
    { name: 'archive/data/0', data: new Uint8Array(8), zip64Sizes: true },
    { name: 'archive/version', data: '3\n' },
  ]);
  const bytes = zip.bytes.slice();
  const extra = zip.entries[1]!.centralOffset + 46 + 'archive/data/0'.length + 4;
  const view = new DataView(bytes.buffer);
  view.setBigUint64(extra, BigInt(five), true);
  view.setBigUint64(extra + 8, BigInt(five), true);
  return { vector: 94, name: '5 GiB record declared in a small file', bytes, code: 'ZIP_ENTRY_OUT_OF_BOUNDS' };
}

/**
 * A file of `size` bytes that exists only as the listed chunks (zeros elsewhere): what a real
 * multi-GiB checkpoint looks like to the reader, without the gigabytes.
 */
export function sparseFile(
  size: number,
  chunks: readonly (readonly [number, Uint8Array])[],
): { readonly size: number; readonly name: string; read(offset: number, length: number): Promise<Uint8Array> } {
  return {
    size,
    name: 'sparse',
    async read(offset, length) {
      if (offset < 0 || length < 0 || offset + length > size)
        throw new RangeError(`sparse read ${offset}+${length} outside ${size}`);
      const out = new Uint8Array(length);
      for (const [at, bytes] of chunks) {
        const from = Math.max(at, offset);
        const to = Math.min(at + bytes.length, offset + length);
        if (from < to) out.set(bytes.subarray(from - at, to - at), from - offset);
      }
      return out;
    },
  };
}

/**
 * Vector 94 (real form): a consistent torch zip whose stored `data/0` is `bytes` long (ZIP64
 * sizes and offsets), as chunks of a {@link sparseFile}. `data.pkl` declares one uint8 tensor
 * over the whole record.
 */
export function hugeStorageCheckpoint(bytes: number): { size: number; chunks: [number, Uint8Array][] } {
  const pkl = stateDictPickle([
    [
      'huge',
      { storage: 'ByteStorage', key: '0', location: 'cpu', numel: bytes, offset: 0, size: [bytes], stride: [1] },
    ],
  ]);
  const small = buildZip(
    [
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/data/0', data: new Uint8Array(0), zip64Sizes: true, zip64Offset: true },
      { name: 'archive/version', data: '3\n', zip64Offset: true },
    ],
    { zip64End: true },
  );
  const head = small.bytes.slice(0, small.entries[1]!.dataOffset);
  const shift = bytes;
  const tail = small.bytes.slice(small.entries[1]!.dataOffset);
  const view = new DataView(tail.buffer);
  const base = small.entries[1]!.dataOffset;
  const u64 = (absolute: number, value: number) => view.setBigUint64(absolute - base, BigInt(value), true);
  // local ZIP64 extra of data/0 lies in `head`: usize, csize
  const lfhExtra = small.entries[1]!.headerOffset + 30 + 'archive/data/0'.length + 4;
  new DataView(head.buffer).setBigUint64(lfhExtra, BigInt(bytes), true);
  new DataView(head.buffer).setBigUint64(lfhExtra + 8, BigInt(bytes), true);
  const cd = (i: number) => small.entries[i]!.centralOffset + 46 + small.entries[i]!.name.length + 4;
  u64(cd(1), bytes);
  u64(cd(1) + 8, bytes);
  u64(cd(2), small.entries[2]!.headerOffset + shift);
  const z64 = small.zip64EocdOffset!;
  u64(z64 + 48, small.cdOffset + shift);
  u64(small.locatorOffset! + 8, z64 + shift);
  setU32(tail, small.eocdOffset - base + 16, 0xffffffff);
  return {
    size: small.bytes.length + shift,
    chunks: [
      [0, head],
      [base + shift, tail],
    ],
  };
}

/**
 * Vector 95: error-message hygiene — a 10 KB module name full of terminal escapes, bidi
 * overrides and newlines (GLOBAL: the line limit; STACK_GLOBAL: the allow list), and a persistent
 * id whose first element is a tensor (the CVE-2026-24747 leak).
 */
export function messageVectors(): HostileCase[] {
  const evil = `\u001b[31m\u202e${'evil.'.repeat(2000)}`;
  const text = bytesOf(`${evil}\n\n\n`);
  const stackGlobal = new PickleBuilder()
    .proto(4)
    .sized(OP.BINUNICODE, text.length, 4, text)
    .str('system')
    .stackGlobal()
    .stop()
    .bytes();
  const leak = new PickleBuilder()
    .proto(2)
    .mark()
    .tensorV2(floatTensor('0', 6, [6], [1]))
    .str('secret-tensor-follows')
    .tuple2()
    .binpersid()
    .stop()
    .bytes();
  return [
    {
      vector: 95,
      name: '10 KB GLOBAL module',
      bytes: pickleZip(concat(latin1('\x80\x02c'), bytesOf(evil), latin1('\nsystem\n.'))).bytes,
      code: 'PICKLE_LIMIT',
      details: { limit: 'maxLineBytes' },
      secret: 'evil.evil.',
    },
    {
      vector: 95,
      name: '10 KB STACK_GLOBAL module with escapes',
      bytes: pickleZip(stackGlobal).bytes,
      code: 'PICKLE_UNSAFE_GLOBAL',
      secret: 'evil.evil.evil.evil.evil.evil.evil.evil.evil.evil.evil.evil.evil.',
    },
    {
      vector: 95,
      name: 'persistent id starting with a tensor',
      bytes: checkpointZip(leak, [['0', arangeBytes(6)]]).bytes,
      code: 'STORAGE_BAD_PID',
      secret: 'secret-tensor-follows',
    },
  ];
}

/** All cases of vectors 88–95 that are plain files. */
export function javascriptVectors(): HostileCase[] {
  return [...javascriptValueVectors(), declaredHugeRecord(), ...messageVectors()];
}

/**
 * The torch zip container (research/pytorch-format.md §1): every record under one archive
 * directory (the "prefix"), local headers cross-checked against the central directory, stored
 * and deflated records, optional CRC-32 verification.
 *
 * @module
 */
import { CheckpointError, quote } from '../errors.js';
import { resolveLimits, type Limits } from '../limits.js';
import type { ByteSource } from '../source.js';
import { crc32 } from './crc32.js';
import { LFH_SIZE, readDirectory, u64, type CentralEntry } from './directory.js';
import { inflateRaw } from './inflate.js';

/**
 * One file record of the archive.
 *
 * @example
 * ```ts
 * const e: ZipEntry = zip.entry('data/0'); console.log(e.size, e.method);
 * ```
 */
export interface ZipEntry {
  /** Full name in the archive, e.g. `archive/data/0`. */
  readonly name: string;
  /** Name below the archive directory, e.g. `data/0` (the key of {@link ZipArchive.entries}). */
  readonly record: string;
  readonly method: 'stored' | 'deflated';
  /** Uncompressed size in bytes. */
  readonly size: number;
  /** Bytes the record occupies in the file. */
  readonly compressedSize: number;
  /** CRC-32 from the central directory (torch may write 0 when CRCs are disabled). */
  readonly crc32: number;
  /** General-purpose flags. */
  readonly flags: number;
  /** Absolute offset of the local file header. */
  readonly headerOffset: number;
  /** Absolute offset of the record's bytes as stored (compressed for deflated records). */
  readonly dataStart: number;
}

/**
 * An opened archive.
 *
 * @example
 * ```ts
 * const zip: ZipArchive = await openZip(source); for (const name of zip.entries.keys()) console.log(name);
 * ```
 */
export interface ZipArchive {
  /** The source the archive is read from. */
  readonly source: ByteSource;
  /** The archive directory name: the first entry's name up to its first `/` (§1.1). */
  readonly prefix: string;
  /** File records keyed by their name below {@link prefix}, in central-directory order. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * The record `name` (below the prefix, exact match). Throws `ARCHIVE_MISSING_RECORD`; when only a
   * case variant exists, `details.caseVariant` names it (torch itself matches case-insensitively).
   */
  entry(name: string): ZipEntry;
  /**
   * The record's uncompressed bytes: one positional read for a stored record (data descriptor
   * checked in the same read), bounded inflation for a deflated one; CRC checked when the archive
   * was opened with `verify: true`.
   */
  read(entry: ZipEntry | string): Promise<Uint8Array>;
  /** Absolute offset of a stored record's data, for positional or zero-copy reads; `ZIP_UNSUPPORTED_METHOD` for deflated records. */
  dataOffset(entry: ZipEntry | string): number;
}

/**
 * Options of {@link openZip}.
 *
 * @example
 * ```ts
 * await openZip(source, { verify: true, limits: { maxEntries: 1000 } });
 * ```
 */
export interface ZipOptions {
  /** Limits (defaults: `DEFAULT_LIMITS`). */
  readonly limits?: Partial<Limits>;
  /** Verify CRC-32 on every read (torch never does; records written with CRCs disabled then fail). */
  readonly verify?: boolean;
}

/** Local headers read at once while opening. */
const HEADER_CONCURRENCY = 8;
const SIG_LFH = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const U32_MAX = 0xffffffff;

/**
 * Opens a torch zip archive: end records, central directory, archive directory layout, and every
 * local header, all checked before anything is returned.
 *
 * @example
 * ```ts
 * const zip = await openZip(fromBytes(bytes));
 * const pickle = await zip.read('data.pkl');
 * const offset = zip.dataOffset('data/0'); // 64-byte aligned in files torch wrote
 * ```
 */
export async function openZip(source: ByteSource, options: ZipOptions = {}): Promise<ZipArchive> {
  const limits = resolveLimits(options.limits);
  const directory = await readDirectory(source, limits);
  const first = directory.entries[0];
  if (first === undefined) throw new CheckpointError('ARCHIVE_EMPTY', 'the archive contains no files');
  const slash = first.name.indexOf('/');
  if (slash <= 0) {
    throw new CheckpointError('ARCHIVE_LAYOUT', `file in archive is not in a subdirectory: ${quote(first.name)}`, { entry: first.name });
  }
  const prefix = first.name.slice(0, slash);
  const files = directory.entries.filter((e) => !e.isDirectory);
  for (const e of directory.entries) {
    if (!e.name.startsWith(`${prefix}/`)) {
      throw new CheckpointError('ARCHIVE_LAYOUT', `file in archive is not in a subdirectory ${quote(`${prefix}/`)}: ${quote(e.name)}`, { entry: e.name });
    }
  }
  if (files.length === 0) throw new CheckpointError('ARCHIVE_EMPTY', `the archive contains only directories`);

  const starts = new Array<number>(files.length);
  for (let i = 0; i < files.length; i += HEADER_CONCURRENCY) {
    const batch = files.slice(i, i + HEADER_CONCURRENCY);
    const results = await Promise.all(batch.map((e) => readLocalHeader(source, e)));
    results.forEach((start, k) => (starts[i + k] = start));
  }

  const entries = new Map<string, ZipEntry>();
  const central = new Map<ZipEntry, CentralEntry>();
  files.forEach((e, i) => {
    const entry: ZipEntry = Object.freeze({
      name: e.name,
      record: e.name.slice(prefix.length + 1),
      method: e.method === 0 ? 'stored' : 'deflated',
      size: e.size,
      compressedSize: e.compressedSize,
      crc32: e.crc32,
      flags: e.flags,
      headerOffset: e.headerOffset,
      dataStart: starts[i]!,
    });
    entries.set(entry.record, entry);
    central.set(entry, e);
  });

  const lookup = (ref: ZipEntry | string): ZipEntry => {
    if (typeof ref !== 'string') return ref;
    const found = entries.get(ref);
    if (found !== undefined) return found;
    const folded = ref.toLowerCase();
    const variant = [...entries.keys()].find((k) => k.toLowerCase() === folded);
    const hint = variant === undefined ? '' : ` (the archive has ${quote(variant)}, which differs only in case)`;
    throw new CheckpointError('ARCHIVE_MISSING_RECORD', `no record ${quote(`${prefix}/${ref}`)} in the archive${hint}`, {
      entry: `${prefix}/${ref}`,
      details: variant === undefined ? undefined : { caseVariant: variant },
    });
  };

  return {
    source,
    prefix,
    entries,
    entry: lookup,
    async read(ref) {
      const entry = lookup(ref);
      const e = central.get(entry);
      if (e === undefined) throw new TypeError('entry does not belong to this archive');
      const dataEnd = entry.dataStart + entry.compressedSize;
      const descriptorLength = e.flags & 0x0008 ? Math.min(24, e.limit - dataEnd) : 0;
      let data: Uint8Array;
      if (entry.method === 'stored') {
        const bytes = await source.read(entry.dataStart, entry.compressedSize + descriptorLength);
        data = bytes.subarray(0, entry.compressedSize);
        if (descriptorLength > 0) checkDescriptor(bytes.subarray(entry.compressedSize), e, dataEnd);
      } else {
        data = await inflateRaw(source, entry.dataStart, entry.compressedSize, entry.size, { entry: entry.name, offset: entry.dataStart });
        if (descriptorLength > 0) checkDescriptor(await source.read(dataEnd, descriptorLength), e, dataEnd);
      }
      if (options.verify === true) {
        const actual = crc32(data);
        if (actual !== entry.crc32) {
          throw new CheckpointError('ZIP_CRC_MISMATCH', `CRC-32 is 0x${hex(actual)}, the directory says 0x${hex(entry.crc32)}`, {
            entry: entry.name,
            offset: entry.dataStart,
          });
        }
      }
      return data;
    },
    dataOffset(ref) {
      const entry = lookup(ref);
      if (entry.method !== 'stored') {
        throw new CheckpointError('ZIP_UNSUPPORTED_METHOD', `record is deflated; its data has no positional offset`, { entry: entry.name });
      }
      return entry.dataStart;
    },
  };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Reads and cross-checks one local file header; returns the absolute data start. */
async function readLocalHeader(source: ByteSource, e: CentralEntry): Promise<number> {
  const where = { entry: e.name, offset: e.headerOffset };
  const bytes = await source.read(e.headerOffset, LFH_SIZE + e.nameBytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mismatch = (what: string): never => {
    throw new CheckpointError('ZIP_HEADER_MISMATCH', `local header ${what} differs from the central directory`, where);
  };
  if (view.getUint32(0, true) !== SIG_LFH) throw new CheckpointError('ZIP_HEADER_MISMATCH', `no local file header signature where the central directory points`, where);
  if (view.getUint16(6, true) !== e.flags) mismatch('flags');
  if (view.getUint16(8, true) !== e.method) mismatch('compression method');
  if (view.getUint16(26, true) !== e.nameBytes.length) mismatch('name length');
  for (let i = 0; i < e.nameBytes.length; i++) if (bytes[LFH_SIZE + i] !== e.nameBytes[i]) mismatch('name');
  const deferred = (e.flags & 0x0008) !== 0; // sizes and CRC may be 0 here, the data descriptor has them
  // 0xFFFFFFFF: the size is in the local ZIP64 extra field (writers may force it for small records)
  const agrees = (local: number, central: number, wide: boolean): boolean =>
    local === central || (deferred && local === 0) || (wide && local === U32_MAX);
  if (!agrees(view.getUint32(14, true), e.crc32, false)) mismatch('CRC-32');
  if (!agrees(view.getUint32(18, true), e.compressedSize, true)) mismatch('compressed size');
  if (!agrees(view.getUint32(22, true), e.size, true)) mismatch('uncompressed size');
  const dataStart = e.headerOffset + LFH_SIZE + e.nameBytes.length + view.getUint16(28, true);
  if (dataStart + e.compressedSize > e.limit) {
    throw new CheckpointError('ZIP_OVERLAP', `record data ${dataStart}..${dataStart + e.compressedSize} overlaps the next entry at ${e.limit}`, where);
  }
  return dataStart;
}

/** The data descriptor after a flag-3 record must repeat the directory's CRC and sizes. */
function checkDescriptor(bytes: Uint8Array, e: CentralEntry, offset: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = bytes.length >= 4 && view.getUint32(0, true) === SIG_DESCRIPTOR ? 4 : 0;
  const crcOk = q + 4 <= bytes.length && view.getUint32(q, true) === e.crc32;
  const narrow = q + 12 <= bytes.length && view.getUint32(q + 4, true) === e.compressedSize && view.getUint32(q + 8, true) === e.size;
  const wide = q + 20 <= bytes.length && u64(view, q + 4) === e.compressedSize && u64(view, q + 12) === e.size;
  if (!crcOk || !(narrow || wide)) {
    throw new CheckpointError('ZIP_HEADER_MISMATCH', `data descriptor is missing or differs from the central directory`, { entry: e.name, offset });
  }
}

/**
 * The torch zip container (`caffe2/serialize/inline_container.cc`): every record under one archive
 * directory (the "prefix"), local headers cross-checked against the central directory, stored
 * and deflated records, optional CRC-32 verification.
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError } from '../errors.js';
import { u64 } from '../little-endian.js';
import { readContext, type ReadContext, type ReadOptions } from '../read-context.js';
import { readInto, type ByteSource } from '../source.js';
import { readDirectory, type CentralEntry } from './directory.js';
import { LFH_SIZE, SIG_DESCRIPTOR, SIG_LFH } from './layout.js';
import { inflateRaw } from './inflate.js';

/**
 * One file record of the archive, as the central directory describes it (its local header is
 * checked on the first read).
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
}

/** An opened archive. */
export interface ZipArchive {
  readonly source: ByteSource;
  /** The archive directory name: the first entry's name up to its first `/`. */
  readonly prefix: string;
  /** File records keyed by their name below {@link prefix}, in central-directory order. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * The record `name` (below the prefix, exact match). Throws `ARCHIVE_MISSING_RECORD`; when only a
   * case variant exists, `details.caseVariant` names it (torch itself matches case-insensitively).
   */
  entry(name: string): ZipEntry;
  /**
   * The record's uncompressed bytes. The first read of a record checks its local header against
   * the central directory (`ZIP_HEADER_MISMATCH`, `ZIP_OVERLAP`); a small stored record is then
   * read with its header in one positional read, a larger one with one more. Data descriptors are
   * checked, deflated records inflated with bounds, CRCs checked when the archive was opened with
   * `verify: true`. With `into` (exactly `size` bytes) the bytes are written there (a stored
   * record straight from the source) and `into` is returned.
   */
  read(entry: ZipEntry | string, into?: Uint8Array): Promise<Uint8Array>;
  /**
   * Absolute offset of a stored record's data, for positional or zero-copy reads, after checking
   * its local header (read once); `ZIP_UNSUPPORTED_METHOD` for deflated records.
   */
  dataOffset(entry: ZipEntry | string): Promise<number>;
}

/** Options of {@link openZip}. */
export type ZipOptions = Pick<ReadOptions, 'limits' | 'verify'>;

/** A stored record whose header, data and descriptor span at most this many bytes is read at once. */
const SMALL_RECORD = 64 * 1024;
const U32_MAX = 0xffffffff;

/**
 * Opens a torch zip archive: end records, central directory and archive directory layout, all
 * checked before anything is returned. Local headers are checked lazily, on each record's first
 * read, so opening costs the same few reads however many records the archive holds.
 */
export function openZip(source: ByteSource, options: ZipOptions = {}): Promise<ZipArchive> {
  const { limits, verify } = readContext(options);
  return openArchive(source, { limits, verify });
}

/** {@link openZip} with the options resolved. */
export async function openArchive(
  source: ByteSource,
  options: Pick<ReadContext, 'limits' | 'verify'>,
): Promise<ZipArchive> {
  const { limits } = options;
  const directory = await readDirectory(source, limits);
  const first = directory.entries[0];
  if (first === undefined) throw new CheckpointError('ARCHIVE_EMPTY', 'the archive contains no files');
  const slash = first.name.indexOf('/');
  if (slash <= 0) {
    throw new CheckpointError('ARCHIVE_LAYOUT', `file in archive is not in a subdirectory: ${quote(first.name)}`, {
      entry: first.name,
    });
  }
  const prefix = first.name.slice(0, slash);
  const directoryName = first.name.slice(0, slash + 1);
  for (const e of directory.entries) {
    if (!e.name.startsWith(directoryName)) {
      throw new CheckpointError(
        'ARCHIVE_LAYOUT',
        `file in archive is not in a subdirectory ${quote(directoryName)}: ${quote(e.name)}`,
        { entry: e.name },
      );
    }
  }

  const entries = new Map<string, ZipEntry>();
  const central = new Map<ZipEntry, CentralEntry>();
  for (const e of directory.entries) {
    if (e.isDirectory) continue;
    const entry: ZipEntry = Object.freeze({
      name: e.name,
      record: e.name.slice(slash + 1),
      method: e.method === 0 ? 'stored' : 'deflated',
      size: e.size,
      compressedSize: e.compressedSize,
      crc32: e.crc32,
      flags: e.flags,
      headerOffset: e.headerOffset,
    });
    entries.set(entry.record, entry);
    central.set(entry, e);
  }
  if (entries.size === 0) throw new CheckpointError('ARCHIVE_EMPTY', `the archive contains only directories`);

  const lookup = (ref: ZipEntry | string): ZipEntry => {
    if (typeof ref !== 'string') return ref;
    const found = entries.get(ref);
    if (found !== undefined) return found;
    const folded = ref.toLowerCase();
    const variant = [...entries.keys()].find((k) => k.toLowerCase() === folded);
    const hint = variant === undefined ? '' : ` (the archive has ${quote(variant)}, which differs only in case)`;
    throw new CheckpointError(
      'ARCHIVE_MISSING_RECORD',
      `no record ${quote(`${prefix}/${ref}`)} in the archive${hint}`,
      {
        entry: `${prefix}/${ref}`,
        details: variant === undefined ? undefined : { caseVariant: variant },
      },
    );
  };
  const centralOf = (entry: ZipEntry): CentralEntry => {
    const e = central.get(entry);
    if (e === undefined) throw new TypeError('entry does not belong to this archive');
    return e;
  };

  /** Checked data starts, one local-header read per record (failures are kept too). */
  const starts = new Map<CentralEntry, Promise<number>>();
  const dataStart = (e: CentralEntry): Promise<number> => {
    let start = starts.get(e);
    if (start === undefined) {
      start = source.read(e.headerOffset, LFH_SIZE + e.nameBytes.length).then((header) => checkLocalHeader(header, e));
      starts.set(e, start);
    }
    return start;
  };

  /** A stored record's bytes, its descriptor checked: the first read of a small record fetches its header with them. */
  const readStored = async (e: CentralEntry, into: Uint8Array | undefined): Promise<Uint8Array> => {
    if (!starts.has(e) && e.limit - e.headerOffset <= SMALL_RECORD) {
      const region = source.read(e.headerOffset, e.limit - e.headerOffset);
      const start = region.then((bytes) => checkLocalHeader(bytes, e));
      starts.set(e, start);
      const [bytes, at] = await Promise.all([region, start]);
      const end = at - e.headerOffset + e.compressedSize;
      const n = descriptorLength(e, at);
      if (n > 0) checkDescriptor(bytes.subarray(end, end + n), e, at + e.compressedSize);
      return copyInto(bytes.subarray(end - e.compressedSize, end), into);
    }
    const at = await dataStart(e);
    const n = descriptorLength(e, at);
    if (into === undefined) {
      const bytes = await source.read(at, e.compressedSize + n);
      if (n > 0) checkDescriptor(bytes.subarray(e.compressedSize), e, at + e.compressedSize);
      return bytes.subarray(0, e.compressedSize);
    }
    if (n === 0) await readInto(source, into, at);
    else
      checkDescriptor(
        (await Promise.all([source.read(at + e.compressedSize, n), readInto(source, into, at)]))[0],
        e,
        at + e.compressedSize,
      );
    return into;
  };

  return {
    source,
    prefix,
    entries,
    entry: lookup,
    async read(ref, into) {
      const entry = lookup(ref);
      const e = centralOf(entry);
      if (into !== undefined && into.length !== entry.size) {
        throw new RangeError(`read into ${into.length} bytes, the record has ${entry.size}`);
      }
      let data: Uint8Array;
      if (entry.method === 'stored') {
        data = await readStored(e, into);
      } else {
        const at = await dataStart(e);
        const n = descriptorLength(e, at);
        data = copyInto(
          await inflateRaw(source, at, entry.compressedSize, entry.size, { entry: entry.name, offset: at }),
          into,
        );
        if (n > 0) checkDescriptor(await source.read(at + entry.compressedSize, n), e, at + entry.compressedSize);
      }
      if (options.verify) {
        // Imported on the first check: an unverified read does not load zlib's native CRC-32.
        const { crc32 } = await import('./crc32.js');
        const actual = crc32(data);
        if (actual !== entry.crc32) {
          throw new CheckpointError(
            'ZIP_CRC_MISMATCH',
            `CRC-32 is 0x${hex(actual)}, the directory says 0x${hex(entry.crc32)}`,
            {
              entry: entry.name,
              offset: await dataStart(e),
            },
          );
        }
      }
      return data;
    },
    async dataOffset(ref) {
      const entry = lookup(ref);
      if (entry.method !== 'stored') {
        throw new CheckpointError('ZIP_UNSUPPORTED_METHOD', `record is deflated; its data has no positional offset`, {
          entry: entry.name,
        });
      }
      return dataStart(centralOf(entry));
    },
  };
}

/** Bytes of the data descriptor after a record whose data starts at `start` (0 without flag 3). */
function descriptorLength(e: CentralEntry, start: number): number {
  return e.flags & 0x0008 ? Math.min(24, e.limit - start - e.compressedSize) : 0;
}

/** `bytes`, or `into` filled with them. */
function copyInto(bytes: Uint8Array, into: Uint8Array | undefined): Uint8Array {
  if (into === undefined) return bytes;
  into.set(bytes);
  return into;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * Cross-checks a local file header (`bytes` start with it and hold at least its fixed part and
 * name) against the central directory; returns the absolute data start.
 */
function checkLocalHeader(bytes: Uint8Array, e: CentralEntry): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SIG_LFH)
    throw new CheckpointError(
      'ZIP_HEADER_MISMATCH',
      `no local file header signature where the central directory points`,
      { entry: e.name, offset: e.headerOffset },
    );
  if (view.getUint16(6, true) !== e.flags) headerMismatch(e, 'flags');
  if (view.getUint16(8, true) !== e.method) headerMismatch(e, 'compression method');
  if (view.getUint16(26, true) !== e.nameBytes.length) headerMismatch(e, 'name length');
  for (let i = 0; i < e.nameBytes.length; i++) if (bytes[LFH_SIZE + i] !== e.nameBytes[i]) headerMismatch(e, 'name');
  const deferred = (e.flags & 0x0008) !== 0; // sizes and CRC may be 0 here, the data descriptor has them
  if (!agrees(view.getUint32(14, true), e.crc32, deferred, false)) headerMismatch(e, 'CRC-32');
  if (!agrees(view.getUint32(18, true), e.compressedSize, deferred, true)) headerMismatch(e, 'compressed size');
  if (!agrees(view.getUint32(22, true), e.size, deferred, true)) headerMismatch(e, 'uncompressed size');
  const dataStart = e.headerOffset + LFH_SIZE + e.nameBytes.length + view.getUint16(28, true);
  if (dataStart + e.compressedSize > e.limit) {
    throw new CheckpointError(
      'ZIP_OVERLAP',
      `record data ${dataStart}..${dataStart + e.compressedSize} overlaps the next entry at ${e.limit}`,
      { entry: e.name, offset: e.headerOffset },
    );
  }
  return dataStart;
}

/**
 * Whether a local header's field agrees with the central directory's: equal, 0 when the data
 * descriptor has it (`deferred`), or 0xFFFFFFFF when it is in the local ZIP64 extra field (`wide`
 * sizes; writers may force that for small records).
 */
function agrees(local: number, central: number, deferred: boolean, wide: boolean): boolean {
  return local === central || (deferred && local === 0) || (wide && local === U32_MAX);
}

function headerMismatch(e: CentralEntry, what: string): never {
  throw new CheckpointError('ZIP_HEADER_MISMATCH', `local header ${what} differs from the central directory`, {
    entry: e.name,
    offset: e.headerOffset,
  });
}

/** The data descriptor after a flag-3 record must repeat the directory's CRC and sizes. */
function checkDescriptor(bytes: Uint8Array, e: CentralEntry, offset: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = bytes.length >= 4 && view.getUint32(0, true) === SIG_DESCRIPTOR ? 4 : 0;
  const crcOk = q + 4 <= bytes.length && view.getUint32(q, true) === e.crc32;
  const narrow =
    q + 12 <= bytes.length &&
    view.getUint32(q + 4, true) === e.compressedSize &&
    view.getUint32(q + 8, true) === e.size;
  const wide = q + 20 <= bytes.length && u64(view, q + 4) === e.compressedSize && u64(view, q + 12) === e.size;
  if (!crcOk || !(narrow || wide)) {
    throw new CheckpointError(
      'ZIP_HEADER_MISMATCH',
      `data descriptor is missing or differs from the central directory`,
      { entry: e.name, offset },
    );
  }
}

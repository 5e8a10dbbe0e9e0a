/**
 * What the torch zip and TorchScript readers share (caffe2/serialize/inline_container.cc):
 * the metadata records (`version` / `.data/version`, `byteorder`, `.format_version`,
 * `.storage_alignment`), pickle records read under the `maxPickleBytes` limit, and storage records
 * checked against their persistent ids and read (byte-swapped when the archive is big-endian).
 *
 * @module
 */
import { dtypeInfo, quote } from '@x/device';
import { CheckpointError } from '../../errors.js';
import { checkBound } from '../../limits.js';
import { unpickleWhole, type UnpickleContext } from '../../pickle/unpickler.js';
import type { ZipArchive } from '../../zip/archive.js';
import type { StorageRef } from '../../pickle/values.js';
import { swapToLittle } from '../make-container.js';

/** Largest metadata record read (`version` is `3\n`, `byteorder` is `little`). */
const MAX_METADATA_RECORD = 64;
/** `kMaxSupportedFileFormatVersion`. */
const MAX_VERSION = 10;

/** The metadata records of a torch archive. */
export interface ArchiveRecords {
  /** `.data/version` when present, else `version` (1 to 10). */
  readonly version: number;
  /** `byteorder` (`little` when absent, as torch ≥ 2.1 assumes). */
  readonly byteorder: 'little' | 'big';
  /** `.format_version` (≈2.7+), when present. */
  readonly formatVersion: number | undefined;
  /** `.storage_alignment` (≈2.7+), when present. */
  readonly storageAlignment: number | undefined;
  /** `.data/serialization_id` (≈2.2+), when present; never validated, as torch does not. */
  readonly serializationId: string | undefined;
}

/**
 * Reads and checks the metadata records. `ARCHIVE_MISSING_RECORD` without `version`,
 * `ARCHIVE_BAD_VERSION` for a version that is not a decimal in 1..10 (leading whitespace and
 * trailing text after the digits are accepted, as `std::stoull` does) or a malformed
 * `.format_version` / `.storage_alignment`, `ARCHIVE_BAD_BYTEORDER` for a `byteorder` other
 * than `little` or `big`.
 */
export async function readArchiveRecords(zip: ZipArchive): Promise<ArchiveRecords> {
  const versionName = zip.entries.has('.data/version') ? '.data/version' : 'version';
  // Every present record is requested at once (one round trip for a remote source); failures and
  // checks still come in this order.
  const [versionRead, byteorderRead, formatRead, alignmentRead, idRead] = await Promise.allSettled([
    smallRecord(zip, versionName, 'ARCHIVE_BAD_VERSION'),
    optionalRecord(zip, 'byteorder', 'ARCHIVE_BAD_BYTEORDER'),
    optionalRecord(zip, '.format_version', 'ARCHIVE_BAD_VERSION'),
    optionalRecord(zip, '.storage_alignment', 'ARCHIVE_BAD_VERSION'),
    optionalRecord(zip, '.data/serialization_id', 'ARCHIVE_LAYOUT'),
  ]);
  const versionText = settled(versionRead);
  const match = /^\s*([0-9]{1,20})/.exec(versionText);
  const version = match === null ? Number.NaN : Number(match[1]);
  if (!(version >= 1 && version <= MAX_VERSION)) {
    const found = match === null ? `${quote(versionText)}, not a number` : String(match[1]);
    throw new CheckpointError('ARCHIVE_BAD_VERSION', `archive version must be 1 to ${MAX_VERSION}, found ${found}`, {
      entry: `${zip.prefix}/${versionName}`,
    });
  }
  const byteorder = settled(byteorderRead) ?? 'little';
  if (byteorder !== 'little' && byteorder !== 'big') {
    throw new CheckpointError(
      'ARCHIVE_BAD_BYTEORDER',
      `Unknown endianness type: ${quote(byteorder)} (expected 'little' or 'big')`,
      { entry: `${zip.prefix}/byteorder` },
    );
  }
  return {
    version,
    byteorder,
    formatVersion: positiveNumber(zip, '.format_version', settled(formatRead)),
    storageAlignment: positiveNumber(zip, '.storage_alignment', settled(alignmentRead)),
    serializationId: settled(idRead),
  };
}

/** The value of a settled read, or its failure thrown. */
function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** The records as container metadata. */
export function recordsMetadata(records: ArchiveRecords): Map<string, unknown> {
  const out = new Map<string, unknown>([
    ['version', records.version],
    ['byteorder', records.byteorder],
  ]);
  if (records.formatVersion !== undefined) out.set('format_version', records.formatVersion);
  if (records.storageAlignment !== undefined) out.set('storage_alignment', records.storageAlignment);
  if (records.serializationId !== undefined) out.set('serialization_id', records.serializationId);
  return out;
}

/** The optional record `name` as text (`undefined` when absent). */
function optionalRecord(
  zip: ZipArchive,
  name: string,
  code: Parameters<typeof smallRecord>[2],
): Promise<string | undefined> {
  return zip.entries.has(name) ? smallRecord(zip, name, code) : Promise.resolve(undefined);
}

/** The text of the optional record `name` as a positive decimal number. */
function positiveNumber(zip: ZipArchive, name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) === 0) {
    throw new CheckpointError(
      'ARCHIVE_BAD_VERSION',
      `${name} must be a positive decimal number, found ${quote(text)}`,
      { entry: `${zip.prefix}/${name}` },
    );
  }
  return Number(text);
}

async function smallRecord(
  zip: ZipArchive,
  name: string,
  code: 'ARCHIVE_BAD_VERSION' | 'ARCHIVE_BAD_BYTEORDER' | 'ARCHIVE_LAYOUT',
): Promise<string> {
  const entry = zip.entry(name);
  if (entry.size > MAX_METADATA_RECORD) {
    throw new CheckpointError(code, `record is ${entry.size} bytes, at most ${MAX_METADATA_RECORD} expected`, {
      entry: entry.name,
    });
  }
  const bytes = await zip.read(entry);
  return String.fromCharCode(...bytes);
}

/**
 * Reads and unpickles the pickle record `name`, its size checked against `maxPickleBytes` before
 * it is read.
 */
export async function readPickleRecord(
  zip: ZipArchive,
  name: string,
  options: Required<Pick<UnpickleContext, 'limits' | 'persistentLoad' | 'unknownClasses'>>,
): Promise<unknown> {
  const entry = zip.entry(name);
  checkBound(entry.size, options.limits.maxPickleBytes, 'maxPickleBytes', `${name} size`, { entry: entry.name });
  const bytes = await zip.read(entry);
  return unpickleWhole(bytes, {
    ...options,
    entry: entry.name,
    baseOffset: entry.method === 'stored' ? await zip.dataOffset(entry) : undefined,
  });
}

/**
 * Checks that every storage has its record `<dir>/<key>` of exactly `byteLength` bytes
 * (`STORAGE_MISSING`, `STORAGE_SIZE_MISMATCH`, as the newest torch does) and returns the reader of
 * those records (straight into a caller's buffer for little-endian archives).
 */
export function storageRecords(
  zip: ZipArchive,
  dir: string,
  storages: Iterable<StorageRef>,
  byteorder: ArchiveRecords['byteorder'],
): (storage: StorageRef, into?: Uint8Array) => Promise<Uint8Array> {
  for (const s of storages) {
    const entry = zip.entries.get(`${dir}/${s.key}`);
    if (entry === undefined) {
      throw new CheckpointError(
        'STORAGE_MISSING',
        `no record ${quote(`${zip.prefix}/${dir}/${s.key}`)} for storage ${quote(s.key)}`,
        { entry: `${zip.prefix}/${dir}/${s.key}`, details: { key: s.key } },
      );
    }
    if (entry.size !== s.byteLength) {
      throw new CheckpointError(
        'STORAGE_SIZE_MISMATCH',
        `record size (${entry.size} bytes) does not match expected size (${s.byteLength} bytes = ${s.numel} elements * ${dtypeInfo(s.dtype).itemSize} bytes/element) for dtype ${s.dtype}`,
        { entry: entry.name, details: { key: s.key, actual: entry.size, expected: s.byteLength } },
      );
    }
  }
  return async (storage, into) => {
    if (byteorder === 'big') return swapToLittle(await zip.read(`${dir}/${storage.key}`), storage.dtype);
    return zip.read(`${dir}/${storage.key}`, into);
  };
}

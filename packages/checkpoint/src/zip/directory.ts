/**
 * The end records and the central directory of a zip archive, read from the tail and checked
 * field by field (APPNOTE.TXT §4.3.12–4.3.16). All 64-bit values are combined as
 * `hi * 2**32 + lo` and compared with the file size, so no value is silently truncated.
 *
 * @module
 */
import { CheckpointError } from '../errors.js';
import { checkBound, type Limits } from '../limits.js';
import { u64 } from '../little-endian.js';
import type { ByteSource } from '../source.js';
import {
  CDH_SIZE,
  EOCD_SIZE,
  LFH_SIZE,
  LOCATOR_SIZE,
  SIG_CDH,
  SIG_ZIP64_EOCD,
  SIG_ZIP64_LOCATOR,
  ZIP64_EOCD_SIZE,
} from './layout.js';

/** One central-directory record after its checks. */
export interface CentralEntry {
  /** Full entry name, decoded as UTF-8. */
  readonly name: string;
  /** The name's bytes (compared with the local header). */
  readonly nameBytes: Uint8Array;
  /** General-purpose flags (only bits 1, 2, 3 and 11 are accepted). */
  readonly flags: number;
  /** 0 = stored, 8 = deflated. */
  readonly method: 0 | 8;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Absolute offset of the local file header. */
  readonly headerOffset: number;
  /** Name ends with `/` (sizes are 0). */
  readonly isDirectory: boolean;
  /** Where the next entry (or the central directory) starts: this entry's bytes must end there. */
  readonly limit: number;
}

/** The parsed directory. */
export interface Directory {
  /** Entries in central-directory order. */
  readonly entries: readonly CentralEntry[];
  /** Absolute offset of the central directory (end of entry data). */
  readonly cdOffset: number;
}

/** Accepted general-purpose flag bits: 1–2 (deflate hints), 3 (data descriptor), 11 (UTF-8). */
const ALLOWED_FLAGS = 0x0002 | 0x0004 | 0x0008 | 0x0800;
const U32_MAX = 0xffffffff;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface EndRecord {
  readonly at: number;
  readonly entries: number;
  readonly cdSize: number;
  readonly cdOffset: number;
  /** Where the central directory must end (the ZIP64 EOCD, or the EOCD). */
  readonly cdEnd: number;
}

/** Finds and checks the end records, then parses the central directory. */
export async function readDirectory(source: ByteSource, limits: Limits): Promise<Directory> {
  const { end, tail, tailStart } = await readEndRecords(source);
  if (end.entries * CDH_SIZE > end.cdSize) {
    throw new CheckpointError(
      'ZIP_ENTRY_COUNT_MISMATCH',
      `the end record declares ${end.entries} entries, a ${end.cdSize}-byte central directory holds at most ${Math.floor(end.cdSize / CDH_SIZE)}`,
      { offset: end.at },
    );
  }
  checkBound(end.entries, limits.maxEntries, 'maxEntries', 'zip entry count', { offset: end.at });
  checkBound(end.cdSize, limits.maxCentralDirectory, 'maxCentralDirectory', 'central directory size', {
    offset: end.cdOffset,
  });
  // Usually inside the tail already read; copied out, so the entries' names do not keep the whole tail alive.
  const at = end.cdOffset - tailStart;
  const cd = at >= 0 ? tail.slice(at, at + end.cdSize) : await source.read(end.cdOffset, end.cdSize);
  const entries = parseCentralDirectory(cd, end, source.size, limits);
  assignLimits(entries, end.cdOffset);
  return { entries, cdOffset: end.cdOffset };
}

/** The end records, and the tail they were found in (the central directory is often there too). */
interface Tail {
  readonly end: EndRecord;
  readonly tail: Uint8Array;
  readonly tailStart: number;
}

async function readEndRecords(source: ByteSource): Promise<Tail> {
  const size = source.size;
  if (size < EOCD_SIZE)
    throw new CheckpointError('ZIP_EOCD_NOT_FOUND', `a zip needs at least ${EOCD_SIZE} bytes, the input has ${size}`);
  const tailLength = Math.min(size, EOCD_SIZE + 0xffff + LOCATOR_SIZE + ZIP64_EOCD_SIZE);
  const tailStart = size - tailLength;
  const tail = await source.read(tailStart, tailLength);
  const view = dataView(tail);

  const signatures = eocdSignatures(tail, tailLength - EOCD_SIZE); // descending
  // records whose comment reaches the end of the file exactly
  const consistent = signatures.filter((i) => i + EOCD_SIZE + view.getUint16(i + 20, true) === tailLength);
  const eocd = consistent[0];
  if (eocd === undefined) {
    const trailing = signatures.find((i) => i + EOCD_SIZE + view.getUint16(i + 20, true) < tailLength);
    if (trailing !== undefined) {
      throw new CheckpointError('ZIP_TRAILING_DATA', `bytes follow the end-of-central-directory record`, {
        offset: tailStart + trailing,
      });
    }
    throw new CheckpointError(
      'ZIP_EOCD_NOT_FOUND',
      `no end-of-central-directory record in the last ${tailLength} bytes (truncated file?)`,
    );
  }
  if (consistent.length > 1 || signatures[0] !== eocd) {
    throw new CheckpointError(
      'ZIP_EOCD_AMBIGUOUS',
      `an end-of-central-directory signature appears inside the archive comment`,
      {
        offset: tailStart + (signatures[0] === eocd ? eocd : signatures[0]!),
      },
    );
  }
  const at = tailStart + eocd;
  const disk = view.getUint16(eocd + 4, true);
  const cdDisk = view.getUint16(eocd + 6, true);
  const diskEntries = view.getUint16(eocd + 8, true);
  const entries16 = view.getUint16(eocd + 10, true);
  const cdSize32 = view.getUint32(eocd + 12, true);
  const cdOffset32 = view.getUint32(eocd + 16, true);
  if (disk !== 0 || cdDisk !== 0 || diskEntries !== entries16) {
    throw new CheckpointError(
      'ZIP_MULTIDISK',
      `multi-disk archives are not supported (disk ${disk}, directory disk ${cdDisk})`,
      { offset: at },
    );
  }

  const locatorAt = at - LOCATOR_SIZE;
  const locator = locatorAt >= 0 ? await bytesAt(source, tail, tailStart, locatorAt, LOCATOR_SIZE) : undefined;
  if (locator === undefined || dataView(locator).getUint32(0, true) !== SIG_ZIP64_LOCATOR) {
    if (cdSize32 === U32_MAX || cdOffset32 === U32_MAX) {
      throw new CheckpointError('ZIP64_INVALID', `the end record has saturated fields but no ZIP64 locator`, {
        offset: at,
      });
    }
    const end = {
      at,
      entries: entries16,
      cdSize: cdSize32,
      cdOffset: cdOffset32,
      cdEnd: checkCdEnd(cdOffset32, cdSize32, at, at),
    };
    return { end, tail, tailStart };
  }

  const lv = dataView(locator);
  const z64At = u64(lv, 8);
  if (lv.getUint32(4, true) !== 0 || lv.getUint32(16, true) !== 1) {
    throw new CheckpointError(
      'ZIP64_INVALID',
      `the ZIP64 locator names disk ${lv.getUint32(4, true)} of ${lv.getUint32(16, true)}`,
      { offset: locatorAt },
    );
  }
  if (z64At + ZIP64_EOCD_SIZE > locatorAt) {
    throw new CheckpointError(
      'ZIP64_INVALID',
      `the ZIP64 locator points at ${z64At}, no room for a ZIP64 end record before ${locatorAt}`,
      { offset: locatorAt },
    );
  }
  const z = dataView(await bytesAt(source, tail, tailStart, z64At, ZIP64_EOCD_SIZE));
  if (z.getUint32(0, true) !== SIG_ZIP64_EOCD || z64At + 12 + u64(z, 4) !== locatorAt) {
    throw new CheckpointError('ZIP64_INVALID', `no ZIP64 end record ending at the locator`, { offset: z64At });
  }
  if (z.getUint32(16, true) !== 0 || z.getUint32(20, true) !== 0 || u64(z, 24) !== u64(z, 32)) {
    throw new CheckpointError('ZIP_MULTIDISK', `multi-disk archives are not supported (ZIP64 end record)`, {
      offset: z64At,
    });
  }
  const entries = merged(entries16, 0xffff, u64(z, 32), 'entry count', z64At);
  const cdSize = merged(cdSize32, U32_MAX, u64(z, 40), 'central directory size', z64At);
  const cdOffset = merged(cdOffset32, U32_MAX, u64(z, 48), 'central directory offset', z64At);
  return { end: { at, entries, cdSize, cdOffset, cdEnd: checkCdEnd(cdOffset, cdSize, z64At, at) }, tail, tailStart };
}

/**
 * Every start `i <= last` of the end-record signature `PK\x05\x06` in `bytes`, descending, found
 * by the builtin byte search for its last byte: rarer than `P` in a central directory, where every
 * header starts with `PK`, and few calls instead of a loop over all 64 KiB (interpreted on a
 * process's first open).
 */
function eocdSignatures(bytes: Uint8Array, last: number): number[] {
  const found: number[] = [];
  for (let j = bytes.lastIndexOf(0x06, last + 3); j >= 3; j = bytes.lastIndexOf(0x06, j - 1)) {
    const i = j - 3;
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 0x05) found.push(i);
  }
  return found;
}

/** The 64-bit value when the 32-bit one is saturated; otherwise both must agree. */
function merged(short: number, saturated: number, long: number, what: string, offset: number): number {
  if (short !== saturated && short !== long) {
    throw new CheckpointError('ZIP64_INVALID', `${what}: end record says ${short}, ZIP64 end record says ${long}`, {
      offset,
    });
  }
  return long;
}

function checkCdEnd(cdOffset: number, cdSize: number, cdEnd: number, at: number): number {
  if (cdOffset + cdSize > cdEnd) {
    throw new CheckpointError(
      'ZIP_CD_OUT_OF_BOUNDS',
      `central directory ${cdOffset}..${cdOffset + cdSize} runs past its end records at ${cdEnd}`,
      { offset: at },
    );
  }
  if (cdOffset + cdSize < cdEnd) {
    throw new CheckpointError(
      'ZIP_CD_MALFORMED',
      `${cdEnd - cdOffset - cdSize} unaccounted bytes between the central directory and its end records`,
      { offset: cdOffset + cdSize },
    );
  }
  return cdEnd;
}

async function bytesAt(
  source: ByteSource,
  tail: Uint8Array,
  tailStart: number,
  at: number,
  length: number,
): Promise<Uint8Array> {
  return at >= tailStart ? tail.subarray(at - tailStart, at - tailStart + length) : source.read(at, length);
}

/** A {@link CentralEntry} while its `limit` is not yet known. */
type Parsed = { -readonly [K in keyof CentralEntry]: CentralEntry[K] };

/** One pass over one DataView of the directory; per entry only its record, name and name view are allocated. */
function parseCentralDirectory(cd: Uint8Array, end: EndRecord, fileSize: number, limits: Limits): Parsed[] {
  const view = dataView(cd);
  const entries: Parsed[] = [];
  const seen = new Map<string, string>();
  let p = 0;
  for (let i = 0; i < end.entries; i++) {
    const offset = end.cdOffset + p;
    if (p + CDH_SIZE > cd.length) {
      throw new CheckpointError(
        'ZIP_ENTRY_COUNT_MISMATCH',
        `the central directory ends after ${i} of ${end.entries} declared entries`,
        { offset },
      );
    }
    if (view.getUint32(p, true) !== SIG_CDH)
      throw new CheckpointError('ZIP_CD_MALFORMED', `expected a central directory header signature`, { offset });
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const disk = view.getUint16(p + 34, true);
    const nameStart = p + CDH_SIZE;
    const extraStart = nameStart + nameLength;
    if (extraStart + extraLength + commentLength > cd.length) {
      throw new CheckpointError('ZIP_CD_MALFORMED', `central directory header fields run past the directory`, {
        offset,
      });
    }
    checkBound(nameLength, limits.maxNameLength, 'maxNameLength', 'entry name length', { offset });
    const nameBytes = cd.subarray(nameStart, extraStart);
    const name = decodeName(nameBytes, offset);
    if ((flags & ~ALLOWED_FLAGS) !== 0) {
      const encrypted = flags & 0x41 ? ' (encrypted)' : '';
      throw new CheckpointError(
        'ZIP_UNSUPPORTED_FLAG',
        `general-purpose flags 0x${flags.toString(16).padStart(4, '0')}${encrypted} are not supported`,
        { entry: name, offset, details: { flags } },
      );
    }
    if (method !== 0 && method !== 8) {
      throw new CheckpointError(
        'ZIP_UNSUPPORTED_METHOD',
        `compression method ${method} is not supported (only stored and deflated)`,
        { entry: name, offset, details: { method } },
      );
    }
    if (disk !== 0) throw new CheckpointError('ZIP_MULTIDISK', `entry starts on disk ${disk}`, { entry: name, offset });
    const zip64 = extraLength === 0 ? -1 : zip64FieldAt(view, extraStart, extraStart + extraLength, name, offset);
    let size = view.getUint32(p + 24, true);
    let compressedSize = view.getUint32(p + 20, true);
    let headerOffset = view.getUint32(p + 42, true);
    if (size === U32_MAX || compressedSize === U32_MAX || headerOffset === U32_MAX) {
      ({ size, compressedSize, headerOffset } = zip64Sizes(view, p, zip64, name, offset));
    }
    validateName(name, offset);
    const isDirectory = name.endsWith('/');
    checkSizes(size, compressedSize, method, isDirectory, limits, name, offset);
    const entryEnd = headerOffset + LFH_SIZE + nameLength + compressedSize;
    if (entryEnd > end.cdOffset) {
      const code = entryEnd > fileSize ? 'ZIP_ENTRY_OUT_OF_BOUNDS' : 'ZIP_OVERLAP';
      throw new CheckpointError(
        code,
        `entry bytes ${headerOffset}..${entryEnd} reach past the central directory at ${end.cdOffset}`,
        { entry: name, offset },
      );
    }
    const folded = foldAsciiCase(name);
    const previous = seen.get(folded);
    if (previous !== undefined) {
      const how =
        previous === name
          ? 'twice'
          : 'twice (names differ only in ASCII case; torch looks names up case-insensitively)';
      throw new CheckpointError('ZIP_DUPLICATE_NAME', `the archive holds this name ${how}`, { entry: name, offset });
    }
    seen.set(folded, name);
    entries.push({ name, nameBytes, flags, method, crc32, size, compressedSize, headerOffset, isDirectory, limit: 0 });
    p = extraStart + extraLength + commentLength;
  }
  if (p !== cd.length) {
    throw new CheckpointError(
      'ZIP_ENTRY_COUNT_MISMATCH',
      `the end record declares ${end.entries} entries, the central directory holds more bytes after them`,
      { offset: end.cdOffset + p },
    );
  }
  return entries;
}

function decodeName(bytes: Uint8Array, offset: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new CheckpointError('ZIP_UNSAFE_NAME', `entry name is not valid UTF-8`, { offset });
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: names with control characters are refused
const CONTROL_OR_BIDI = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const DRIVE = /^[A-Za-z]:/;
/**
 * Matches every name that {@link validateName}'s rules refuse: one native test per entry, the rules
 * (which name the reason) only for a match. A loop over the characters instead would run
 * interpreted on a process's first open.
 */
const MAYBE_UNSAFE = new RegExp(`${CONTROL_OR_BIDI.source}|\\\\|${DRIVE.source}|^(?:$|/)|//|(?:^|/)\\.\\.?(?:/|$)`);
const ASCII_CAPITAL = /[A-Z]/;
const ASCII_CAPITALS = /[A-Z]/g;

/** yauzl's `validateFileName` rules plus control, bidi and empty/dot segments. */
function validateName(name: string, offset: number): void {
  if (!MAYBE_UNSAFE.test(name)) return;
  let reason: string | undefined;
  if (name.length === 0) reason = 'is empty';
  else if (CONTROL_OR_BIDI.test(name)) reason = 'contains control or bidi characters';
  else if (name.includes('\\')) reason = 'contains a backslash';
  else if (name.startsWith('/') || DRIVE.test(name)) reason = 'is absolute';
  else {
    const segments = name.split('/');
    if (name.endsWith('/')) segments.pop();
    if (segments.some((s) => s === '' || s === '.' || s === '..')) reason = 'has an empty, "." or ".." segment';
  }
  if (reason !== undefined)
    throw new CheckpointError('ZIP_UNSAFE_NAME', `entry name ${reason}`, { entry: name, offset });
}

/** `name` with ASCII capitals lowered (torch looks names up case-insensitively). */
function foldAsciiCase(name: string): string {
  return ASCII_CAPITAL.test(name) ? name.replace(ASCII_CAPITALS, lowerCase) : name; // a test costs less than a replace
}

function lowerCase(c: string): string {
  return c.toLowerCase();
}

/**
 * Checks the extra fields in `view` from `start` to `end` (each header and length inside them, at
 * most one ZIP64 field) and returns where the ZIP64 extended-information field (id 1) starts, or -1.
 */
function zip64FieldAt(view: DataView, start: number, end: number, name: string, offset: number): number {
  let field = -1;
  for (let q = start; q < end; ) {
    if (q + 4 > end)
      throw new CheckpointError('ZIP_CD_MALFORMED', `extra field header runs past the extra data`, {
        entry: name,
        offset,
      });
    const id = view.getUint16(q, true);
    const length = view.getUint16(q + 2, true);
    if (q + 4 + length > end)
      throw new CheckpointError(
        'ZIP_CD_MALFORMED',
        `extra field 0x${id.toString(16)} declares ${length} bytes, more than the extra data holds`,
        { entry: name, offset },
      );
    if (id === 1) {
      if (field >= 0) throw new CheckpointError('ZIP_CD_MALFORMED', `two ZIP64 extra fields`, { entry: name, offset });
      field = q;
    }
    q += 4 + length;
  }
  return field;
}

interface Sizes {
  readonly size: number;
  readonly compressedSize: number;
  readonly headerOffset: number;
}

/**
 * The sizes and offset of the header at `p`, each saturated 32-bit field replaced by the next
 * value of the ZIP64 field at `field` (-1: none).
 */
function zip64Sizes(view: DataView, p: number, field: number, name: string, offset: number): Sizes {
  const fieldEnd = field < 0 ? -1 : field + 4 + view.getUint16(field + 2, true);
  let r = field + 4;
  const take = (value32: number, what: string): number => {
    if (value32 !== U32_MAX) return value32;
    if (field < 0 || r + 8 > fieldEnd) {
      throw new CheckpointError(
        'ZIP64_INVALID',
        `${what} is 0xFFFFFFFF but the ZIP64 extra field does not include it`,
        { entry: name, offset },
      );
    }
    const value = u64(view, r);
    r += 8;
    return value;
  };
  const size = take(view.getUint32(p + 24, true), 'uncompressed size');
  const compressedSize = take(view.getUint32(p + 20, true), 'compressed size');
  const headerOffset = take(view.getUint32(p + 42, true), 'local header offset');
  return { size, compressedSize, headerOffset };
}

function checkSizes(
  size: number,
  compressedSize: number,
  method: number,
  isDirectory: boolean,
  limits: Limits,
  name: string,
  offset: number,
): void {
  if (isDirectory && (size !== 0 || compressedSize !== 0)) {
    throw new CheckpointError('ZIP_CD_MALFORMED', `directory entry declares ${size} bytes`, { entry: name, offset });
  }
  if (method === 0 && size !== compressedSize) {
    throw new CheckpointError(
      'ZIP_SIZE_MISMATCH',
      `stored entry has compressed size ${compressedSize} but uncompressed size ${size}`,
      { entry: name, offset },
    );
  }
  if (method === 8) {
    checkBound(
      Math.ceil(size / Math.max(compressedSize, 1)),
      limits.maxInflateRatio,
      'maxInflateRatio',
      `inflate ratio of ${size} / ${compressedSize} bytes`,
      { entry: name, offset },
    );
  }
}

/** Records each entry's limit (the next local header in file order) and rejects overlapping minimal extents. */
function assignLimits(entries: Parsed[], cdOffset: number): void {
  const order = entries.slice().sort(byHeaderOffset); // stable; torch's directories are already in order
  for (let k = 0; k < order.length; k++) {
    const e = order[k]!;
    const next = order[k + 1];
    const limit = next === undefined ? cdOffset : next.headerOffset;
    const minEnd = e.headerOffset + LFH_SIZE + e.nameBytes.length + e.compressedSize;
    if (minEnd > limit) {
      throw new CheckpointError(
        'ZIP_OVERLAP',
        `entry bytes ${e.headerOffset}..${minEnd} overlap the next entry at ${limit} (possible zip bomb)`,
        {
          entry: e.name,
          offset: e.headerOffset,
          details: { other: next?.name },
        },
      );
    }
    e.limit = limit;
  }
}

function byHeaderOffset(a: Parsed, b: Parsed): number {
  return a.headerOffset - b.headerOffset;
}

/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * (`{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}`), then
 * one byte buffer the tensors tile without holes or overlaps. Parsing applies every check of the
 * reference (Rust `safetensors`) reader; writing reproduces its bytes: tensors sorted by dtype
 * (descending, in its `Dtype` enum order) then name, compact JSON, `__metadata__` first, header
 * padded with spaces to a multiple of 8.
 *
 * @module
 */

import { dtypeInfo, quote, type TorchDType } from '@x/device';
import { CheckpointError } from '../../errors.js';
import type { ByteSink } from '../../zip/writer.js';

/** The reference reader's `MAX_HEADER_SIZE`: 100 000 000 bytes of JSON. */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

/**
 * safetensors dtype codes and their torch dtypes, in the reference `Dtype` enum order (the sort
 * key of its writer). Sub-byte codes (`F4`, `F6_*`) have no torch dtype here and are rejected.
 */
const CODES: readonly (readonly [code: string, dtype: TorchDType])[] = [
  ['BOOL', 'bool'],
  ['U8', 'uint8'],
  ['I8', 'int8'],
  ['F8_E5M2', 'float8_e5m2'],
  ['F8_E4M3', 'float8_e4m3fn'],
  ['F8_E8M0', 'float8_e8m0fnu'],
  ['I16', 'int16'],
  ['U16', 'uint16'],
  ['F16', 'float16'],
  ['BF16', 'bfloat16'],
  ['I32', 'int32'],
  ['U32', 'uint32'],
  ['F32', 'float32'],
  ['C64', 'complex64'],
  ['F64', 'float64'],
  ['I64', 'int64'],
  ['U64', 'uint64'],
];
const DTYPE_OF_CODE = new Map<string, TorchDType>(CODES);
const CODE_OF_DTYPE = new Map<TorchDType, string>(CODES.map(([c, d]) => [d, c]));
const RANK_OF_CODE = new Map<string, number>(CODES.map(([c], i) => [c, i]));

/** The torch dtype of a safetensors dtype code, or `undefined` for an unknown code. */
export function dtypeFromSafetensors(code: string): TorchDType | undefined {
  return DTYPE_OF_CODE.get(code);
}

/**
 * The safetensors dtype code of a torch dtype, or `undefined` when safetensors has none
 * (quantized, `complex128`, `bits*`, …).
 */
export function safetensorsDtype(dtype: TorchDType): string | undefined {
  return CODE_OF_DTYPE.get(dtype);
}

/** One tensor of a safetensors header. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  /** The code as written (`F32`). */
  readonly code: string;
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  /** Byte range in the data buffer, relative to {@link SafetensorsHeader.dataStart}. */
  readonly begin: number;
  readonly end: number;
}

/** A parsed (and validated) safetensors header. */
export interface SafetensorsHeader {
  /** `__metadata__`, when present. */
  readonly metadata: ReadonlyMap<string, string> | undefined;
  /** Tensors in data order (by offset). */
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** Absolute offset of the data buffer: 8 + N. */
  readonly dataStart: number;
  /** Bytes of the data buffer (the end of the last tensor). */
  readonly dataLength: number;
}

/**
 * Reads N from the first 8 bytes of a safetensors file of `fileSize` bytes and checks it:
 * `N ≤` {@link SAFETENSORS_MAX_HEADER} and `8 + N ≤ fileSize`.
 *
 * @example
 * ```ts
 * const n = safetensorsHeaderLength(await source.read(0, 8), source.size);
 * const header = parseSafetensorsHeader(await source.read(8, n), source.size);
 * ```
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileSize: number): number {
  if (first8.length < 8 || fileSize < 8) {
    throw new CheckpointError(
      'INPUT_TRUNCATED',
      `a safetensors file starts with an 8-byte header length, found ${Math.min(first8.length, fileSize)} bytes`,
      { offset: 0 },
    );
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(SAFETENSORS_MAX_HEADER)) {
    throw new CheckpointError(
      'UNSUPPORTED_FORMAT',
      `safetensors header length ${n} exceeds ${SAFETENSORS_MAX_HEADER} bytes`,
      {
        offset: 0,
        details: { limit: SAFETENSORS_MAX_HEADER },
      },
    );
  }
  if (8 + Number(n) > fileSize) {
    throw new CheckpointError(
      'INPUT_TRUNCATED',
      `safetensors header of ${n} bytes does not fit a file of ${fileSize} bytes`,
      { offset: 0 },
    );
  }
  return Number(n);
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses and validates the N header bytes of a safetensors file of `fileSize` bytes: UTF-8 JSON
 * object, no duplicate names, `__metadata__` a string-to-string map, known dtype codes,
 * non-negative integer shapes, `data_offsets` tiling the buffer from 0 with no hole or overlap,
 * each range exactly `numel × itemSize` bytes, and the buffer ending exactly at the file end.
 */
export function parseSafetensorsHeader(json: Uint8Array, fileSize: number): SafetensorsHeader {
  let text: string;
  try {
    text = fatalUtf8.decode(json);
  } catch (cause) {
    throw new CheckpointError('UNSUPPORTED_FORMAT', 'safetensors header is not valid UTF-8', { offset: 8, cause });
  }
  if (text[jsonWhitespaceEnd(text)] !== '{')
    throw new CheckpointError(
      'UNSUPPORTED_FORMAT',
      'safetensors header must be a JSON object starting with "{" (after optional whitespace)',
      { offset: 8 },
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new CheckpointError('UNSUPPORTED_FORMAT', 'safetensors header is not valid JSON', { offset: 8, cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CheckpointError('UNSUPPORTED_FORMAT', 'safetensors header must be a JSON object', { offset: 8 });
  }
  const members = parsed as Readonly<Record<string, unknown>>;
  const names = Object.keys(members);
  if (names.length !== topLevelKeys(text)) {
    // JSON.parse kept one member of each repeated name
    const duplicate = firstDuplicateKey(text)!;
    throw new CheckpointError('ARCHIVE_LAYOUT', `safetensors header names ${quote(duplicate)} twice`, { offset: 8 });
  }

  let metadata: Map<string, string> | undefined;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const name of names) {
    const entry = members[name];
    if (name === '__metadata__')
      metadata = entry === null ? undefined : parseMetadata(entry); // null: absent, as the reference reads it
    else tensors.push(parseTensor(name, entry));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let end = 0;
  for (const t of tensors) {
    if (t.begin !== end) {
      throw new CheckpointError(
        'ARCHIVE_LAYOUT',
        `safetensors tensor ${quote(t.name)} starts at data byte ${t.begin}, expected ${end} (tensors must tile the buffer without holes or overlaps)`,
        { entry: t.name },
      );
    }
    end = t.end;
  }
  const dataStart = 8 + json.length;
  if (dataStart + end !== fileSize) {
    throw new CheckpointError(
      dataStart + end > fileSize ? 'INPUT_TRUNCATED' : 'ARCHIVE_LAYOUT',
      `safetensors data should end at byte ${dataStart + end} (header + ${end} data bytes), the file has ${fileSize} bytes`,
      {
        offset: dataStart,
      },
    );
  }
  return { metadata, tensors, dataStart, dataLength: end };
}

/**
 * Where JSON whitespace (space, tab, LF, CR) at the start of `text` ends: the format lets a writer pad
 * the header, and the reference reader accepts whitespace before the object too.
 */
export function jsonWhitespaceEnd(text: string | Uint8Array): number {
  let i = 0;
  for (; i < text.length; i++) {
    const c = typeof text === 'string' ? text.charCodeAt(i) : text[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
  }
  return i;
}

function parseMetadata(entry: unknown): Map<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new CheckpointError('ARCHIVE_LAYOUT', 'safetensors __metadata__ must be an object of strings', {
      entry: '__metadata__',
    });
  }
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(entry)) {
    if (typeof v !== 'string')
      throw new CheckpointError(
        'ARCHIVE_LAYOUT',
        `safetensors __metadata__ value of ${quote(k)} must be a string, found ${jsonType(v)}`,
        { entry: '__metadata__' },
      );
    out.set(k, v);
  }
  return out;
}

function parseTensor(name: string, entry: unknown): SafetensorsTensorInfo {
  const where = { entry: name };
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new CheckpointError(
      'TENSOR_GEOMETRY',
      `safetensors tensor entry must be an object, found ${jsonType(entry)}`,
      where,
    );
  }
  const { dtype: code, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof code !== 'string')
    throw new CheckpointError(
      'TENSOR_GEOMETRY',
      `safetensors tensor dtype must be a string, found ${jsonType(code)}`,
      where,
    );
  const dtype = DTYPE_OF_CODE.get(code);
  if (dtype === undefined)
    throw new CheckpointError('TENSOR_UNSUPPORTED', `unknown safetensors dtype ${quote(code)}`, where);
  if (!Array.isArray(shape) || !shape.every(isIndex)) {
    throw new CheckpointError(
      'TENSOR_GEOMETRY',
      'safetensors tensor shape must be an array of non-negative integers',
      where,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) {
    throw new CheckpointError(
      'TENSOR_GEOMETRY',
      'safetensors data_offsets must be [begin, end] non-negative integers',
      where,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin)
    throw new CheckpointError(
      'ARCHIVE_LAYOUT',
      `safetensors data_offsets [${begin}, ${end}] end before they begin`,
      where,
    );
  const bytes = byteCount(shape as number[], dtypeInfo(dtype).itemSize);
  if (bytes !== end - begin) {
    throw new CheckpointError(
      'TENSOR_GEOMETRY',
      `safetensors tensor of shape [${shape.join(', ')}] ${code} needs ${bytes} bytes, data_offsets give ${end - begin}`,
      where,
    );
  }
  return { name, code, dtype, shape, begin, end };
}

/** The bytes of a tensor: a number while the product stays exact, a bigint once it would not. */
function byteCount(shape: readonly number[], itemSize: number): number | bigint {
  let n = itemSize;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return shape.reduce((b, x) => b * BigInt(x), 1n) * BigInt(itemSize);
  }
  return n;
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function jsonType(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Walks the keys of the top-level object of valid JSON `text`, a repeated name once per time, and
 * returns how many it passed; `stopAt`, when given, gets each key (unescaped) and ends the walk by
 * returning true. Without it no string is made: strings are skipped with `indexOf`.
 */
function topLevelKeys(text: string, stopAt?: (key: string) => boolean): number {
  let depth = 0;
  let expectKey = false;
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const j = closingQuote(text, i);
      if (depth === 1 && expectKey) {
        keys++;
        expectKey = false;
        if (stopAt !== undefined) {
          const raw = text.slice(i + 1, j);
          if (stopAt(raw.includes('\\') ? (JSON.parse(text.slice(i, j + 1)) as string) : raw)) return keys;
        }
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      expectKey = depth === 1 && c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/** The first key that appears twice in the top-level object of valid JSON `text`, if any. */
function firstDuplicateKey(text: string): string | undefined {
  const seen = new Set<string>();
  let duplicate: string | undefined;
  topLevelKeys(text, (key) => {
    if (seen.has(key)) duplicate = key;
    seen.add(key);
    return duplicate !== undefined;
  });
  return duplicate;
}

/** Where the JSON string opened by the quote at `open` closes (the first quote after an even run of backslashes). */
function closingQuote(text: string, open: number): number {
  for (let j = text.indexOf('"', open + 1); ; j = text.indexOf('"', j + 1)) {
    let k = j - 1;
    while (text.charCodeAt(k) === 0x5c) k--;
    if ((j - 1 - k) % 2 === 0) return j;
  }
}

/** Parses a whole safetensors file held in memory; each tensor's bytes are a view into `file`. */
export function readSafetensors(file: Uint8Array): { header: SafetensorsHeader; tensors: Map<string, Uint8Array> } {
  const n = safetensorsHeaderLength(file.subarray(0, 8), file.length);
  const header = parseSafetensorsHeader(file.subarray(8, 8 + n), file.length);
  const tensors = new Map<string, Uint8Array>();
  for (const t of header.tensors)
    tensors.set(t.name, file.subarray(header.dataStart + t.begin, header.dataStart + t.end));
  return { header, tensors };
}

/** One tensor to write: its bytes (little-endian, C-contiguous), or a function giving them when written. */
export interface SafetensorsTensorInput {
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  readonly data: Uint8Array | (() => Promise<Uint8Array> | Uint8Array);
}

/** Options of {@link serializeSafetensorsHeader} and {@link writeSafetensors}. */
export interface SafetensorsWriteOptions {
  /** `__metadata__` (string to string), written first, in insertion order. */
  readonly metadata?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
}

/**
 * Lays out tensors as the reference writer does and returns the file's first 8 + N bytes (length,
 * JSON, space padding) with the resulting header.
 */
export function serializeSafetensorsHeader(
  tensors: Iterable<readonly [string, SafetensorsTensorInput]>,
  options: SafetensorsWriteOptions = {},
): { bytes: Uint8Array; header: SafetensorsHeader } {
  const enc = new TextEncoder();
  const items = [...tensors].map(([name, t]) => {
    const code = CODE_OF_DTYPE.get(t.dtype);
    if (code === undefined)
      throw new CheckpointError('TENSOR_UNSUPPORTED', `safetensors has no dtype for torch ${t.dtype}`, { entry: name });
    if (!t.shape.every(isIndex))
      throw new CheckpointError('TENSOR_GEOMETRY', 'shape must be non-negative integers', { entry: name });
    const size = t.shape.reduce((n, d) => n * d, 1) * dtypeInfo(t.dtype).itemSize;
    return { name, key: enc.encode(name), code, rank: RANK_OF_CODE.get(code)!, shape: [...t.shape], size };
  });
  items.sort((a, b) => b.rank - a.rank || compareBytes(a.key, b.key));
  const fields: string[] = [];
  const metadata =
    options.metadata === undefined
      ? undefined
      : new Map(options.metadata instanceof Map ? options.metadata : Object.entries(options.metadata));
  if (metadata !== undefined) {
    fields.push(
      `"__metadata__":{${[...metadata].map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
    );
  }
  const infos: SafetensorsTensorInfo[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const it of items) {
    if (names.has(it.name) || it.name === '__metadata__')
      throw new CheckpointError('ARCHIVE_LAYOUT', `tensor name ${quote(it.name)} is used twice or reserved`, {
        entry: it.name,
      });
    names.add(it.name);
    const info = {
      name: it.name,
      code: it.code,
      dtype: DTYPE_OF_CODE.get(it.code)!,
      shape: it.shape,
      begin: offset,
      end: offset + it.size,
    };
    offset = info.end;
    infos.push(info);
    fields.push(
      `${JSON.stringify(it.name)}:{"dtype":"${it.code}","shape":[${it.shape.join(',')}],"data_offsets":[${info.begin},${info.end}]}`,
    );
  }
  const json = enc.encode(`{${fields.join(',')}}`);
  const n = json.length + ((8 - (json.length % 8)) % 8);
  const bytes = new Uint8Array(8 + n).fill(0x20, 8 + json.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(n), true);
  bytes.set(json, 8);
  return { bytes, header: { metadata, tensors: infos, dataStart: 8 + n, dataLength: offset } };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Writes a safetensors file to `sink`: the header, then each tensor's bytes in data order, asking
 * for lazily given data only when it is written (peak memory: one tensor).
 */
export async function writeSafetensors(
  tensors: Iterable<readonly [string, SafetensorsTensorInput]>,
  sink: ByteSink,
  options: SafetensorsWriteOptions = {},
): Promise<SafetensorsHeader> {
  const list = [...tensors];
  const { bytes, header } = serializeSafetensorsHeader(list, options);
  const inputs = new Map(list);
  await sink.write(bytes);
  for (const t of header.tensors) {
    const input = inputs.get(t.name)!;
    const data = typeof input.data === 'function' ? await input.data() : input.data;
    if (data.length !== t.end - t.begin) {
      throw new CheckpointError(
        'STORAGE_SIZE_MISMATCH',
        `tensor of shape [${t.shape.join(', ')}] ${t.code} needs ${t.end - t.begin} bytes, its data has ${data.length}`,
        { entry: t.name },
      );
    }
    if (data.length > 0) await sink.write(data);
  }
  return header;
}

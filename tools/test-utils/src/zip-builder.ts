/**
 * A zip byte builder for tests. It writes exactly what it is told (stored or deflated records,
 * data descriptors, `FB` alignment padding, ZIP64 extras and end records, comments, overridden
 * fields), and reports where every structure landed so tests can corrupt single fields with
 * {@link setU16} / {@link setU32} / {@link setU64}. {@link torchZip} reproduces torch 1.13's writer.
 *
 * @module
 */
import { crc32, deflateRawSync } from 'node:zlib';

/** One record of {@link buildZip}. */
export interface ZipRecordSpec {
  /** Full entry name. */
  readonly name: string;
  readonly data: Uint8Array | string;
  /** Default `stored`. */
  readonly method?: 'stored' | 'deflated';
  /** Write flag bit 3, zero CRC/sizes in the local header, and a data descriptor after the data. */
  readonly descriptor?: boolean;
  /** Omit the `PK\x07\x08` signature of the descriptor. */
  readonly descriptorWithoutSignature?: boolean;
  /** Pad with an `FB` extra field so data starts at a multiple of this (relative to the archive start). */
  readonly align?: number;
  /** Sizes as ZIP64 extras (32-bit fields 0xFFFFFFFF) in the local and central headers. */
  readonly zip64Sizes?: boolean;
  /** Local-header offset as a ZIP64 extra in the central header. */
  readonly zip64Offset?: boolean;
  /** Override the general-purpose flags (both headers). */
  readonly flags?: number;
  /** Override the CRC written everywhere. */
  readonly crc?: number;
}

/** Options of {@link buildZip}. */
export interface ZipBuildOptions {
  /** Always write ZIP64 end record + locator (torch does). */
  readonly zip64End?: boolean;
  /** Archive comment. */
  readonly comment?: Uint8Array | string;
  /** "version made by" of the central headers and ZIP64 end record. */
  readonly madeBy?: number;
  /** "version needed" of the ZIP64 end record. */
  readonly zip64Needed?: number;
  /** Bytes before the first local header. */
  readonly prefix?: Uint8Array;
}

/** Where one record landed. */
export interface BuiltEntry {
  readonly name: string;
  readonly headerOffset: number;
  readonly dataOffset: number;
  readonly storedLength: number;
  /** Offset of its central directory header. */
  readonly centralOffset: number;
}

/** Result of {@link buildZip}. */
export interface BuiltZip {
  readonly bytes: Uint8Array;
  readonly entries: readonly BuiltEntry[];
  readonly cdOffset: number;
  readonly cdSize: number;
  readonly eocdOffset: number;
  readonly zip64EocdOffset: number | undefined;
  readonly locatorOffset: number | undefined;
}

const enc = new TextEncoder();

class Writer {
  readonly parts: number[] = [];
  get length(): number {
    return this.parts.length;
  }
  u8(...v: number[]): this {
    for (const x of v) this.parts.push(x & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v, v >>> 8);
  }
  u32(v: number): this {
    return this.u8(v, v >>> 8, v >>> 16, v >>> 24);
  }
  u64(v: number | bigint): this {
    const b = BigInt(v);
    return this.u32(Number(b & 0xffffffffn)).u32(Number(b >> 32n));
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }
}

/**
 * Builds a zip archive from `records`, in order, central directory in the same order.
 *
 * @example
 * ```ts
 * const zip = buildZip([{ name: 'archive/data.pkl', data: pkl }, { name: 'archive/version', data: '3\n' }], { zip64End: true });
 * setU32(zip.bytes, zip.entries[0]!.centralOffset + 42, 0x7fffffff); // corrupt the first LFH offset
 * ```
 */
export function buildZip(records: readonly ZipRecordSpec[], options: ZipBuildOptions = {}): BuiltZip {
  const w = new Writer();
  if (options.prefix !== undefined) w.bytes(options.prefix);
  const placed: {
    spec: ZipRecordSpec;
    name: Uint8Array;
    stored: Uint8Array;
    size: number;
    crc: number;
    flags: number;
    method: number;
    headerOffset: number;
    dataOffset: number;
  }[] = [];
  for (const spec of records) {
    const raw = typeof spec.data === 'string' ? enc.encode(spec.data) : spec.data;
    const method = spec.method === 'deflated' ? 8 : 0;
    const stored = method === 8 ? new Uint8Array(deflateRawSync(raw)) : raw;
    const crc = spec.crc ?? crc32(raw);
    const flags = spec.flags ?? 0x0800 | (spec.descriptor === true ? 0x0008 : 0);
    const name = enc.encode(spec.name);
    const headerOffset = w.length;
    const zip64 = spec.zip64Sizes === true;
    const extraLocal = zip64 ? 20 : 0;
    let pad = 0;
    const hasFB = spec.align !== undefined && spec.align > 0;
    if (hasFB) {
      const start = headerOffset + 30 + name.length + extraLocal + 4;
      pad = (spec.align! - (start % spec.align!)) % spec.align!;
    }
    const deferred = spec.descriptor === true;
    w.u32(0x04034b50).u16(0).u16(flags).u16(method).u16(0).u16(0);
    w.u32(deferred ? 0 : crc);
    if (zip64) w.u32(deferred ? 0 : 0xffffffff).u32(deferred ? 0 : 0xffffffff);
    else w.u32(deferred ? 0 : stored.length).u32(deferred ? 0 : raw.length);
    w.u16(name.length)
      .u16(extraLocal + (hasFB ? 4 + pad : 0))
      .bytes(name);
    if (zip64)
      w.u16(1)
        .u16(16)
        .u64(raw.length)
        .u64(deferred ? 0 : stored.length);
    if (hasFB) w.u8(0x46, 0x42).u16(pad).bytes(new Uint8Array(pad).fill(0x5a));
    const dataOffset = w.length;
    w.bytes(stored);
    if (deferred) {
      if (spec.descriptorWithoutSignature !== true) w.u32(0x08074b50);
      w.u32(crc);
      if (zip64) w.u64(stored.length).u64(raw.length);
      else w.u32(stored.length).u32(raw.length);
    }
    placed.push({ spec, name, stored, size: raw.length, crc, flags, method, headerOffset, dataOffset });
  }

  const cdOffset = w.length;
  const entries: BuiltEntry[] = [];
  for (const p of placed) {
    const centralOffset = w.length;
    const big = p.spec.zip64Sizes === true;
    const far = p.spec.zip64Offset === true;
    const extraLength = big || far ? 4 + (big ? 16 : 0) + (far ? 8 : 0) : 0;
    w.u32(0x02014b50)
      .u16(options.madeBy ?? 0)
      .u16(0)
      .u16(p.flags)
      .u16(p.method)
      .u16(0)
      .u16(0)
      .u32(p.crc);
    w.u32(big ? 0xffffffff : p.stored.length).u32(big ? 0xffffffff : p.size);
    w.u16(p.name.length)
      .u16(extraLength)
      .u16(0)
      .u16(0)
      .u16(0)
      .u32(0)
      .u32(far ? 0xffffffff : p.headerOffset);
    w.bytes(p.name);
    if (extraLength > 0) {
      w.u16(1).u16(extraLength - 4);
      if (big) w.u64(p.size).u64(p.stored.length);
      if (far) w.u64(p.headerOffset);
    }
    entries.push({
      name: p.spec.name,
      headerOffset: p.headerOffset,
      dataOffset: p.dataOffset,
      storedLength: p.stored.length,
      centralOffset,
    });
  }
  const cdSize = w.length - cdOffset;
  let zip64EocdOffset: number | undefined;
  let locatorOffset: number | undefined;
  if (options.zip64End === true) {
    zip64EocdOffset = w.length;
    w.u32(0x06064b50)
      .u64(44)
      .u16(options.madeBy ?? 0x031e)
      .u16(options.zip64Needed ?? 45)
      .u32(0)
      .u32(0);
    w.u64(placed.length).u64(placed.length).u64(cdSize).u64(cdOffset);
    locatorOffset = w.length;
    w.u32(0x07064b50).u32(0).u64(zip64EocdOffset).u32(1);
  }
  const eocdOffset = w.length;
  const comment =
    typeof options.comment === 'string' ? enc.encode(options.comment) : (options.comment ?? new Uint8Array(0));
  w.u32(0x06054b50).u16(0).u16(0).u16(Math.min(placed.length, 0xffff)).u16(Math.min(placed.length, 0xffff));
  w.u32(Math.min(cdSize, 0xffffffff)).u32(Math.min(cdOffset, 0xffffffff)).u16(comment.length).bytes(comment);
  return { bytes: Uint8Array.from(w.parts), entries, cdOffset, cdSize, eocdOffset, zip64EocdOffset, locatorOffset };
}

/**
 * An archive laid out exactly as torch 1.13's `PyTorchStreamWriter` writes it
 * (caffe2/serialize/inline_container.cc): stored records under `prefix/`, flags 0x0808
 * (0x0800 and no descriptor when empty), `FB` padding to 64 bytes, descriptors, ZIP64 end records.
 */
export function torchZip(records: readonly (readonly [string, Uint8Array | string])[], prefix = 'archive'): BuiltZip {
  return buildZip(
    records.map(([name, data]) => {
      const empty = data.length === 0;
      return { name: `${prefix}/${name}`, data, align: 64, descriptor: !empty, flags: empty ? 0x0800 : 0x0808 };
    }),
    { zip64End: true },
  );
}

/** Writes a little-endian u16 into `bytes` at `at`. */
export function setU16(bytes: Uint8Array, at: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint16(at, value, true);
}

/** Writes a little-endian u32 into `bytes` at `at`. */
export function setU32(bytes: Uint8Array, at: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, value >>> 0, true);
}

/** Writes a little-endian u64 into `bytes` at `at`. */
export function setU64(bytes: Uint8Array, at: number, value: number | bigint): void {
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, BigInt(value), true);
}

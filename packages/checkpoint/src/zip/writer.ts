/**
 * A streaming ZIP writer producing exactly the archives PyTorch's `PyTorchStreamWriter` (miniz in
 * zip64 mode) writes: stored records, zero times, data descriptors, every record's data aligned
 * through an `FB` extra field, zip64 extras only where a size or offset reaches 0xFFFFFFFF, and a
 * ZIP64 end record plus locator always (`caffe2/serialize/inline_container.cc`).
 *
 * @module
 */

import { quote } from '@x/device';
import { concatBytes } from '../concat-bytes.js';
import { CheckpointError } from '../errors.js';
import { crc32 } from './crc32.js';
import {
  CDH_SIZE,
  LFH_SIZE,
  SIG_CDH,
  SIG_DESCRIPTOR,
  SIG_EOCD,
  SIG_LFH,
  SIG_ZIP64_EOCD,
  SIG_ZIP64_LOCATOR,
} from './layout.js';

/**
 * Where written bytes go. Each chunk is handed over once and may be kept by the sink (no copy is
 * made before the call); the writer awaits every write before the next.
 */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

/**
 * A {@link ByteSink} that keeps every chunk in memory; `bytes()` joins them.
 *
 * @example
 * ```ts
 * const mem = memorySink();
 * await writeTorchZip(value, mem, { storageBytes });
 * const file = mem.bytes();
 * ```
 */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    write: async (chunk) => {
      chunks.push(chunk);
    },
    bytes: () => concatBytes(chunks),
  };
}

/**
 * Record data given in pieces, for records too large for one `Uint8Array` (Node caps typed arrays
 * at 4 GiB) or produced on the fly. `chunks()` is called once and must yield exactly `size` bytes.
 */
export interface ChunkedData {
  readonly size: number;
  chunks(): Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** Options of {@link ZipWriter}. */
export interface ZipWriterOptions {
  /** Every record's data starts at a multiple of this, from the archive start. Default 64. */
  readonly alignment?: number;
}

interface Entry {
  readonly name: Uint8Array;
  readonly offset: number;
  readonly size: number;
  readonly crc: number;
}

const U32_MAX = 0xffffffff;
const FLAG_UTF8 = 0x0800;
const FLAG_DESCRIPTOR = 0x0008;
const utf8 = new TextEncoder();

/**
 * Writes records one at a time to a {@link ByteSink}, then the central directory on
 * {@link ZipWriter.finish}. Memory held is one small header per record: record data goes to the
 * sink as given.
 */
export class ZipWriter {
  private cursor = 0;
  private readonly entries: Entry[] = [];
  private readonly alignment: number;
  private finished = false;

  constructor(
    private readonly sink: ByteSink,
    options: ZipWriterOptions = {},
  ) {
    const alignment = options.alignment ?? 64;
    if (!Number.isSafeInteger(alignment) || alignment < 1 || alignment > 0x8000) {
      throw new CheckpointError('ARCHIVE_LAYOUT', `alignment must be an integer in 1..32768, got ${String(alignment)}`);
    }
    this.alignment = alignment;
  }

  /** Bytes written so far (the offset of the next local header). */
  get size(): number {
    return this.cursor;
  }

  /**
   * Writes one stored record: local header with alignment padding, `data`, and a data descriptor
   * when `data` is not empty. The CRC-32 is computed while the data streams through; `add` returns it.
   */
  async add(name: string, data: Uint8Array | ChunkedData): Promise<number> {
    if (this.finished) throw new CheckpointError('ARCHIVE_LAYOUT', `record ${quote(name)} added after finish()`);
    const nameBytes = utf8.encode(name);
    if (nameBytes.length > 0xffff)
      throw new CheckpointError(
        'ARCHIVE_LAYOUT',
        `record name is ${nameBytes.length} bytes, at most 65535 fit a ZIP header`,
      );
    const offset = this.cursor;
    const size = data instanceof Uint8Array ? data.length : data.size;
    const bigSize = size >= U32_MAX;
    const bigOffset = offset >= U32_MAX;
    const zip64Length = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
    const start = offset + LFH_SIZE + nameBytes.length + 4 + zip64Length;
    const pad = (this.alignment - (start % this.alignment)) % this.alignment;

    const header = new Uint8Array(LFH_SIZE + nameBytes.length + zip64Length + 4 + pad);
    const h = new DataView(header.buffer);
    h.setUint32(0, SIG_LFH, true);
    h.setUint16(6, size > 0 ? FLAG_UTF8 | FLAG_DESCRIPTOR : FLAG_UTF8, true);
    h.setUint16(26, nameBytes.length, true);
    h.setUint16(28, zip64Length + 4 + pad, true);
    header.set(nameBytes, LFH_SIZE);
    let at = LFH_SIZE + nameBytes.length;
    if (zip64Length > 0) {
      h.setUint16(at, 0x0001, true);
      h.setUint16(at + 2, zip64Length - 4, true);
      at += 4;
      if (bigSize) {
        h.setBigUint64(at, BigInt(size), true);
        at += 16; // compressed size: written as 0 by miniz at this point
      }
      if (bigOffset) {
        h.setBigUint64(at, BigInt(offset), true);
        at += 8;
      }
    }
    header[at] = 0x46; // 'F'
    header[at + 1] = 0x42; // 'B'
    h.setUint16(at + 2, pad, true);
    header.fill(0x5a, at + 4); // 'Z'
    await this.emit(header);

    let crc = 0;
    if (data instanceof Uint8Array) {
      crc = crc32(data);
      if (size > 0) await this.emit(data);
    } else {
      let written = 0;
      for await (const chunk of data.chunks()) {
        written += chunk.length;
        if (written > size) break;
        crc = crc32(chunk, crc);
        if (chunk.length > 0) await this.emit(chunk);
      }
      if (written !== size) {
        throw new CheckpointError(
          'STORAGE_SIZE_MISMATCH',
          `record data should be ${size} bytes, its chunks gave ${written > size ? 'more' : written}`,
          { entry: name },
        );
      }
    }
    if (size > 0) {
      const descriptor = new Uint8Array(zip64Length > 0 ? 24 : 16);
      const d = new DataView(descriptor.buffer);
      d.setUint32(0, SIG_DESCRIPTOR, true);
      d.setUint32(4, crc, true);
      if (zip64Length > 0) {
        d.setBigUint64(8, BigInt(size), true);
        d.setBigUint64(16, BigInt(size), true);
      } else {
        d.setUint32(8, size, true);
        d.setUint32(12, size, true);
      }
      await this.emit(descriptor);
    }
    this.entries.push({ name: nameBytes, offset, size, crc });
    return crc;
  }

  /** Writes the central directory, the ZIP64 end record and locator, and the end record. */
  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const cdOffset = this.cursor;
    const parts = this.entries.map(centralHeader);
    const cdSize = parts.reduce((n, p) => n + p.length, 0);
    const tail = concatBytes([...parts, new Uint8Array(56 + 20 + 22)]);
    let at = cdSize;
    const t = new DataView(tail.buffer);
    const count = this.entries.length;
    const zip64Eocd = cdOffset + cdSize;
    t.setUint32(at, SIG_ZIP64_EOCD, true);
    t.setBigUint64(at + 4, 44n, true);
    t.setUint16(at + 12, 0x031e, true);
    t.setUint16(at + 14, 0x2d, true);
    t.setBigUint64(at + 24, BigInt(count), true);
    t.setBigUint64(at + 32, BigInt(count), true);
    t.setBigUint64(at + 40, BigInt(cdSize), true);
    t.setBigUint64(at + 48, BigInt(cdOffset), true);
    at += 56;
    t.setUint32(at, SIG_ZIP64_LOCATOR, true);
    t.setBigUint64(at + 8, BigInt(zip64Eocd), true);
    t.setUint32(at + 16, 1, true);
    at += 20;
    t.setUint32(at, SIG_EOCD, true);
    t.setUint16(at + 8, Math.min(count, 0xffff), true);
    t.setUint16(at + 10, Math.min(count, 0xffff), true);
    t.setUint32(at + 12, Math.min(cdSize, U32_MAX), true);
    t.setUint32(at + 16, Math.min(cdOffset, U32_MAX), true);
    await this.emit(tail);
  }

  private async emit(chunk: Uint8Array): Promise<void> {
    await this.sink.write(chunk);
    this.cursor += chunk.length;
  }
}

function centralHeader(e: Entry): Uint8Array {
  const bigSize = e.size >= U32_MAX;
  const bigOffset = e.offset >= U32_MAX;
  const extra = bigSize || bigOffset ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
  const out = new Uint8Array(CDH_SIZE + e.name.length + extra);
  const v = new DataView(out.buffer);
  v.setUint32(0, SIG_CDH, true);
  v.setUint16(8, e.size > 0 ? FLAG_UTF8 | FLAG_DESCRIPTOR : FLAG_UTF8, true);
  v.setUint32(16, e.crc, true);
  v.setUint32(20, Math.min(e.size, U32_MAX), true);
  v.setUint32(24, Math.min(e.size, U32_MAX), true);
  v.setUint16(28, e.name.length, true);
  v.setUint16(30, extra, true);
  v.setUint32(42, Math.min(e.offset, U32_MAX), true);
  out.set(e.name, CDH_SIZE);
  let at = CDH_SIZE + e.name.length;
  if (extra > 0) {
    v.setUint16(at, 0x0001, true);
    v.setUint16(at + 2, extra - 4, true);
    at += 4;
    if (bigSize) {
      v.setBigUint64(at, BigInt(e.size), true);
      v.setBigUint64(at + 8, BigInt(e.size), true);
      at += 16;
    }
    if (bigOffset) v.setBigUint64(at, BigInt(e.offset), true);
  }
  return out;
}

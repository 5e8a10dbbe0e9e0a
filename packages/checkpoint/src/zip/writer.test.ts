import { describe, expect, it } from 'vitest';
import { goldenBytes, sameBytes } from '../testing/torch.js';
import { memorySink, ZipWriter, type ByteSink } from './writer.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The local records of an archive, walked through their headers: name, header offset, data offset, extra bytes. */
function localRecords(
  zip: Uint8Array,
): { name: string; lho: number; data: number; extra: Uint8Array; flags: number }[] {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const out = [];
  let at = 0;
  while (v.getUint32(at, true) === 0x04034b50) {
    const flags = v.getUint16(at + 6, true);
    const nameLength = v.getUint16(at + 26, true);
    const extraLength = v.getUint16(at + 28, true);
    const name = new TextDecoder().decode(zip.subarray(at + 30, at + 30 + nameLength));
    const data = at + 30 + nameLength + extraLength;
    out.push({ name, lho: at, data, extra: zip.subarray(at + 30 + nameLength, data), flags });
    // the descriptor of a non-empty record says how far to skip: find the next signature after the data
    let next = data;
    while (next + 4 <= zip.length && v.getUint32(next, true) !== 0x04034b50 && v.getUint32(next, true) !== 0x02014b50)
      next++;
    at = next;
  }
  return out;
}

describe('ZipWriter', () => {
  it('writes the golden vector byte for byte from its three payloads', async () => {
    const golden = goldenBytes();
    const mem = memorySink();
    const zip = new ZipWriter(mem);
    await zip.add('archive/data.pkl', golden.subarray(64, 218));
    await zip.add('archive/data/0', golden.subarray(320, 344));
    await zip.add('archive/version', ascii('3\n'));
    await zip.finish();
    expect(sameBytes(mem.bytes(), golden)).toBe('identical');
    expect(zip.size).toBe(747);
  });

  it('writes chunked data exactly as the same bytes in one piece', async () => {
    const golden = goldenBytes();
    const mem = memorySink();
    const zip = new ZipWriter(mem);
    await zip.add('archive/data.pkl', {
      size: 154,
      chunks: () => [golden.subarray(64, 100), new Uint8Array(0), golden.subarray(100, 218)],
    });
    await zip.add('archive/data/0', {
      size: 24,
      chunks: async function* () {
        yield golden.subarray(320, 344);
      },
    });
    await zip.add('archive/version', ascii('3\n'));
    await zip.finish();
    expect(sameBytes(mem.bytes(), golden)).toBe('identical');
  });

  it('rejects chunks that do not add up to the declared size', async () => {
    const zip = new ZipWriter(memorySink());
    await expect(zip.add('a/x', { size: 5, chunks: () => [ascii('abc')] })).rejects.toMatchObject({
      code: 'STORAGE_SIZE_MISMATCH',
    });
    await expect(
      new ZipWriter(memorySink()).add('a/x', { size: 2, chunks: () => [ascii('abc')] }),
    ).rejects.toMatchObject({ code: 'STORAGE_SIZE_MISMATCH' });
  });

  it('writes an empty record with flags 0x0800 and no data descriptor', async () => {
    const mem = memorySink();
    const zip = new ZipWriter(mem);
    await zip.add('a/empty', new Uint8Array(0));
    await zip.add('a/x', ascii('x'));
    await zip.finish();
    const [empty, x] = localRecords(mem.bytes());
    expect(empty).toMatchObject({ flags: 0x0800, data: 64 });
    // 30 + 7 ("a/empty") + 4 ("FB" + u16) + pad 23 = 64; the next header follows the (empty) data at once
    expect(x).toMatchObject({ lho: 64, flags: 0x0808, data: 128 });
  });

  it('aligns every record to the requested alignment, from the archive start', async () => {
    for (const alignment of [64, 4096, 1]) {
      const mem = memorySink();
      const zip = new ZipWriter(mem, { alignment });
      for (const name of ['p/data.pkl', 'p/a', 'p/longer/name/here']) await zip.add(name, ascii(name));
      await zip.finish();
      for (const r of localRecords(mem.bytes())) {
        expect(r.data % alignment).toBe(0);
        expect(r.data - r.lho - 30 - r.name.length - 4).toBeLessThan(alignment);
      }
    }
    expect(() => new ZipWriter(memorySink(), { alignment: 0 })).toThrow(
      expect.objectContaining({ code: 'ARCHIVE_LAYOUT' }),
    );
  });

  it('writes zip64 fields past 4 GiB as miniz does', async () => {
    // Stream 4 GiB + 100 zeros; keep every other chunk (headers, descriptors, the tail) with its offset.
    const zeros = new Uint8Array(64 << 20);
    const kept: { at: number; chunk: Uint8Array }[] = [];
    let total = 0;
    const sink: ByteSink = {
      write: async (chunk) => {
        if (chunk.buffer !== zeros.buffer) kept.push({ at: total, chunk });
        total += chunk.length;
      },
    };
    const size0 = 2 ** 32 + 100; // 4294967396, the size of a 4 GiB tensor
    const zip = new ZipWriter(sink);
    await zip.add('archive/data/0', {
      size: size0,
      chunks: function* () {
        for (let i = 0; i < 64; i++) yield zeros;
        yield zeros.subarray(0, 100);
      },
    });
    await zip.add('archive/data/1', new Uint8Array(12));
    await zip.finish();

    const header0 = kept[0]!.chunk;
    const h0 = new DataView(header0.buffer);
    expect(h0.getUint16(28, true)).toBe(header0.length - 30 - 14); // extra = zip64 (20) + FB (4 + pad)
    // zip64 extra: id 1, length 16, u64 size, u64 compressed size written as 0
    expect(Buffer.from(header0.subarray(44, 64)).toString('hex')).toBe(
      '0100' + '1000' + '6400000001000000' + '0000000000000000',
    );
    const data0 = header0.length;
    expect(data0 % 64).toBe(0);
    const descriptor0 = kept[1]!;
    expect(descriptor0.at).toBe(data0 + size0);
    expect(descriptor0.chunk.length).toBe(24); // u64 sizes
    expect(new DataView(descriptor0.chunk.buffer).getBigUint64(8, true)).toBe(BigInt(size0));

    const lho1 = descriptor0.at + 24;
    const header1 = kept[2]!;
    expect(header1.at).toBe(lho1);
    const offsetHex = Buffer.alloc(8);
    offsetHex.writeBigUInt64LE(BigInt(lho1));
    // zip64 extra after the name: id 1, length 8, u64 local header offset
    expect(Buffer.from(header1.chunk.subarray(44, 56)).toString('hex')).toBe(`01000800${offsetHex.toString('hex')}`);
    expect((lho1 + header1.chunk.length) % 64).toBe(0);
    const descriptor1 = kept[4]!; // [3] is the 12-byte payload
    expect(descriptor1.chunk.length).toBe(24); // a small record past 4 GiB still has u64 sizes

    const tail = kept[5]!.chunk;
    const t = new DataView(tail.buffer);
    const cdOffset = kept[5]!.at;
    // central entry 0: sizes 0xFFFFFFFF, zip64 extra with both sizes
    expect(t.getUint32(20, true)).toBe(0xffffffff);
    expect(t.getUint32(24, true)).toBe(0xffffffff);
    expect(t.getUint32(42, true)).toBe(0);
    const size0Hex = Buffer.alloc(8);
    size0Hex.writeBigUInt64LE(BigInt(size0));
    expect(Buffer.from(tail.subarray(46 + 14, 46 + 14 + 20)).toString('hex')).toBe(
      `01001000${size0Hex.toString('hex').repeat(2)}`,
    );
    // central entry 1: real sizes, offset 0xFFFFFFFF, zip64 extra with the offset
    const e1 = 46 + 14 + 20;
    expect(t.getUint32(e1 + 20, true)).toBe(12);
    expect(t.getUint32(e1 + 42, true)).toBe(0xffffffff);
    expect(Buffer.from(tail.subarray(e1 + 46 + 14, e1 + 46 + 14 + 12)).toString('hex')).toBe(
      `01000800${offsetHex.toString('hex')}`,
    );
    const cdSize = e1 + 46 + 14 + 12;
    // ZIP64 EOCD holds the real offset; the EOCD says 0xFFFFFFFF
    expect(t.getUint32(cdSize, true)).toBe(0x06064b50);
    expect(t.getBigUint64(cdSize + 48, true)).toBe(BigInt(cdOffset));
    expect(t.getBigUint64(cdSize + 56 + 8, true)).toBe(BigInt(cdOffset + cdSize));
    const eocd = cdSize + 56 + 20;
    expect(t.getUint32(eocd, true)).toBe(0x06054b50);
    expect(t.getUint32(eocd + 12, true)).toBe(cdSize);
    expect(t.getUint32(eocd + 16, true)).toBe(0xffffffff);
    expect(total).toBe(cdOffset + tail.length);
  }, 120_000);
});

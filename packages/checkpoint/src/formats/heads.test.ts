import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCode } from '../testing/helpers.js';
import { fromBytes, type ByteSource } from '../source.js';
import { CONTAINER_FORMATS, openContainer } from './detect.js';
import { HEAD_BYTES } from './format-reader.js';
import { isIndexHead, isLegacyHead, isSafetensorsHead } from './heads.js';
import { probe } from './probe.js';
import { readContext } from '../read-context.js';
import { FIXTURES, strided } from '../testing/manifest.js';

/** Every committed fixture file that is a checkpoint or a shard (not config.json / manifest.json). */
function fixtureFiles(dir = FIXTURES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return fixtureFiles(path);
    return /(config|manifest)\.json$/.test(e.name) ? [] : [path];
  });
}

/** A source named `name` holding `bytes`. */
function named(bytes: Uint8Array, name: string): ByteSource {
  return { ...fromBytes(bytes), name };
}

/** A safetensors file with one float32 tensor whose header is `{…}` padded with spaces to `n` bytes. */
function safetensorsWithHeader(n: number): Uint8Array {
  const json = new TextEncoder().encode(
    JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }).padEnd(n, ' '),
  );
  const file = new Uint8Array(8 + n + 4);
  new DataView(file.buffer).setBigUint64(0, BigInt(n), true);
  file.set(json, 8);
  file.set(new Uint8Array(new Float32Array([1.5]).buffer), 8 + n);
  return file;
}

describe('format detection does not depend on the order formats are tried in', () => {
  const files = fixtureFiles();

  it('every committed checkpoint and shard head passes exactly one format test, and opens the same in any order', async () => {
    expect(files.length).toBeGreaterThan(100);
    const reversed = [...CONTAINER_FORMATS].reverse();
    for (const path of files) {
      const bytes = new Uint8Array(readFileSync(path));
      const source = named(bytes, path);
      const head = bytes.subarray(0, HEAD_BYTES);
      const accepting = CONTAINER_FORMATS.filter((f) => f.test(head, source)).map((f) => f.id);
      expect(accepting, relative(FIXTURES, path)).toHaveLength(1);
      if (path.endsWith('.safetensors') || path.includes('/hf/')) {
        const options = readContext({
          resolve: async (name: string) => named(new Uint8Array(readFileSync(join(dirname(path), name))), name),
        });
        const [a, b] = [await probe(source, CONTAINER_FORMATS, options), await probe(source, reversed, options)];
        expect([a.format, strided(a).length]).toEqual([b.format, strided(b).length]);
      }
    }
  });

  it('a safetensors file whose first byte is 0x80 (header length 128 + 256k) is safetensors, not a legacy pickle', async () => {
    for (const n of [0x80, 0x180]) {
      const file = safetensorsWithHeader(n);
      expect(file[0]).toBe(0x80);
      expect(isLegacyHead(file, file.length)).toBe(false);
      const c = await openContainer(fromBytes(file));
      expect([c.format, strided(c).map((t) => t.name)]).toEqual(['safetensors', ['a']]);
    }
  });

  it('legacy heads: any pickle PROTO byte but a safetensors head; real legacy heads never are one', () => {
    const magic = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
    const frame = (length: number): number[] => [0x95, ...new Uint8Array(new BigUint64Array([BigInt(length)]).buffer)];
    for (const head of [
      [0x80, 2, ...magic],
      [0x80, 4, ...frame(13), ...magic],
      [0x80, 5, ...magic],
      [0x80, 2, 0x4b, 0xe9, 0x03, 0x2e],
    ]) {
      const bytes = Uint8Array.from(head);
      expect([isLegacyHead(bytes, 2e8), isSafetensorsHead(bytes, 2e8)]).toEqual([true, false]);
    }
    const st = safetensorsWithHeader(0x80);
    expect([isLegacyHead(st, st.length), isSafetensorsHead(st, st.length)]).toEqual([false, true]);
  });

  it('safetensors heads: the header length must fit the file and the reference cap of 100 000 000 bytes', () => {
    const head = (n: number | bigint): Uint8Array => {
      const h = new Uint8Array(16);
      new DataView(h.buffer).setBigUint64(0, BigInt(n), true);
      h[8] = 0x7b;
      return h;
    };
    expect(isSafetensorsHead(head(100_000_000), 2e8)).toBe(true);
    expect(isSafetensorsHead(head(100_000_001), 2e8)).toBe(false);
    expect(isSafetensorsHead(head(1000), 1007)).toBe(false);
    expect([0, 1, 2].map((n) => isSafetensorsHead(head(n), 100))).toEqual([false, false, true]);
    // lengths past 2^53 are compared as rounded numbers: still far above the cap and any file
    for (const n of [2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n])
      expect(isSafetensorsHead(head(n), 2 ** 60)).toBe(false);
  });

  it('index heads are JSON text: a head with control bytes is not an index, whatever its name', () => {
    const text = new TextEncoder().encode('{"weight_map": {}}');
    expect(isIndexHead(text, fromBytes(text))).toBe(true);
    const binary = Uint8Array.from([0x7b, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]);
    expect(isIndexHead(binary, named(binary, 'x.json'))).toBe(false);
    const heads = ['\t\r\n {"a": 1}', '  [1]', '   ', ''].map((t) => new TextEncoder().encode(t));
    expect(heads.map((h) => isIndexHead(h, named(h, 'x.json')))).toEqual([true, false, false, false]);
  });

  it('a head two formats accept is refused with both named, not guessed', async () => {
    // PK\x03\x04 + 4 zero bytes is a safetensors header length of 67 324 752; '{' at byte 8 (a zip compression method torch never writes)
    const head = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0x7b, 0x7d]);
    const size = 70_000_000;
    const source: ByteSource = {
      size,
      name: 'huge.safetensors',
      read: async (offset, length) => (offset === 0 ? head.slice(0, length) : new Uint8Array(length)),
    };
    const e = await expectCode(openContainer(source), 'UNSUPPORTED_FORMAT');
    expect(e.details?.candidates).toEqual(['zip', 'safetensors']);
  });
});

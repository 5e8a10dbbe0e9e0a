/**
 * CRC-32 (IEEE 802.3, zlib's `crc32`). In Node (≥ 20.16 / 22.3, where `process.getBuiltinModule`
 * and `zlib.crc32` exist) {@link crc32} is zlib's native one, reached at run time without an
 * `import` of `node:zlib`, so this module stays isomorphic and bundlers see no Node built-in;
 * elsewhere it is {@link portableCrc32}, slicing-by-8 over precomputed tables.
 *
 * @module
 */

const TABLES = makeTables();

function makeTables(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

/** The JavaScript CRC-32 (any runtime): updates a running CRC with `bytes`, as {@link crc32}. */
export function portableCrc32(bytes: Uint8Array, crc = 0): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    c =
      t[7 * 256 + (a & 0xff)]! ^
      t[6 * 256 + ((a >>> 8) & 0xff)]! ^
      t[5 * 256 + ((a >>> 16) & 0xff)]! ^
      t[4 * 256 + (a >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < n) c = t[(c ^ bytes[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type Crc32 = (bytes: Uint8Array, crc?: number) => number;

interface NodeProcess {
  readonly versions?: { readonly node?: string };
  readonly getBuiltinModule?: (id: string) => unknown;
}

/** zlib's `crc32` when this runs in a Node that has it (looked up once, without an import). */
function nativeCrc32(): Crc32 | undefined {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (proc?.versions?.node === undefined || typeof proc.getBuiltinModule !== 'function') return undefined;
  const zlib = proc.getBuiltinModule('node:zlib') as { crc32?: Crc32 } | undefined;
  return typeof zlib?.crc32 === 'function' ? zlib.crc32 : undefined;
}

/**
 * Updates a running CRC-32 with `bytes`. Start with `0` (or omit it); feed chunks in order. Native
 * zlib in Node, {@link portableCrc32} elsewhere; both give the same numbers.
 */
export const crc32: Crc32 = nativeCrc32() ?? portableCrc32;

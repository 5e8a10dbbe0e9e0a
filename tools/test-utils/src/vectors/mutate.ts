/**
 * Vector 96: seeded mutations of valid checkpoints — bit flips,
 * truncation, splices, length fields set to boundary values, and zip records duplicated or
 * reordered in the central directory — as fast-check arbitraries, so every failure prints a seed
 * and a shrunk counterexample, and the same mutations run from vitest and from the long-run
 * `tools/fuzz` script.
 *
 * @module
 */
import fc from 'fast-check';
import { concat } from './common.js';

/**
 * One mutation. Positions are taken modulo the input length when applied, so a mutation applies to
 * any input.
 */
export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'splice'; readonly at: number; readonly remove: number; readonly insert: Uint8Array }
  | { readonly kind: 'field'; readonly at: number; readonly width: 1 | 2 | 4 | 8; readonly value: bigint }
  | { readonly kind: 'copy'; readonly from: number; readonly length: number; readonly to: number }
  | { readonly kind: 'duplicateRecord'; readonly index: number }
  | { readonly kind: 'swapRecords'; readonly a: number; readonly b: number };

/** The boundary values length fields are set to (pickle-fuzzer's `boundary` mutator). */
export const BOUNDARY_VALUES: readonly bigint[] = [
  0n,
  1n,
  2n ** 7n - 1n,
  2n ** 8n - 1n,
  2n ** 15n,
  2n ** 16n - 1n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** Arbitrary mutations: one to `max` of them, of every kind. */
export function mutationsArbitrary(max = 4): fc.Arbitrary<Mutation[]> {
  const position = fc.nat({ max: 2 ** 31 - 1 });
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    {
      arbitrary: fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
      weight: 4,
    },
    { arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: position }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: fc.constant('splice' as const),
        at: position,
        remove: fc.nat({ max: 16 }),
        insert: fc.uint8Array({ maxLength: 16 }),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('field' as const),
        at: position,
        width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
        value: fc.constantFrom(...BOUNDARY_VALUES),
      }),
      weight: 3,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('copy' as const),
        from: position,
        length: fc.integer({ min: 1, max: 64 }),
        to: position,
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ kind: fc.constant('duplicateRecord' as const), index: fc.nat({ max: 64 }) }), weight: 1 },
    {
      arbitrary: fc.record({
        kind: fc.constant('swapRecords' as const),
        a: fc.nat({ max: 64 }),
        b: fc.nat({ max: 64 }),
      }),
      weight: 1,
    },
  );
  return fc.array(mutation, { minLength: 1, maxLength: max });
}

/** Applies `mutations` in order to a copy of `input`. */
export function applyMutations(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes: Uint8Array = input.slice();
  for (const m of mutations) bytes = applyOne(bytes, m);
  return bytes;
}

function applyOne(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  if (n === 0) return bytes;
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      out[m.at % n]! ^= 1 << m.bit;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, m.at % n);
    case 'splice': {
      const at = m.at % (n + 1);
      const out = new Uint8Array(n - Math.min(m.remove, n - at) + m.insert.length);
      out.set(bytes.subarray(0, at));
      out.set(m.insert, at);
      out.set(bytes.subarray(Math.min(n, at + m.remove)), at + m.insert.length);
      return out;
    }
    case 'field': {
      const out = bytes.slice();
      if (n < m.width) return out;
      const at = m.at % (n - m.width + 1);
      let v = m.value;
      for (let i = 0; i < m.width; i++, v >>= 8n) out[at + i] = Number(v & 0xffn);
      return out;
    }
    case 'copy': {
      const out = bytes.slice();
      const from = m.from % n;
      const chunk = bytes.slice(from, Math.min(n, from + m.length));
      out.set(chunk.subarray(0, Math.max(0, n - (m.to % n))), m.to % n);
      return out;
    }
    case 'duplicateRecord':
    case 'swapRecords':
      return editCentralDirectory(bytes, m);
  }
}

/** The central directory headers of a plain (or ZIP64-ended) zip, or undefined when it cannot be found. */
function centralHeaders(
  bytes: Uint8Array,
): { cdOffset: number; cdSize: number; eocd: number; headers: [number, number][] } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return undefined;
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset + cdSize > eocd) return undefined;
  const headers: [number, number][] = [];
  for (let p = cdOffset; p + 46 <= cdOffset + cdSize && view.getUint32(p, true) === 0x02014b50; ) {
    const length = 46 + view.getUint16(p + 28, true) + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
    headers.push([p, length]);
    p += length;
  }
  return headers.length === 0 ? undefined : { cdOffset, cdSize, eocd, headers };
}

/** Duplicates one central directory record (counts and sizes updated) or swaps two. */
function editCentralDirectory(
  bytes: Uint8Array,
  m: Extract<Mutation, { kind: 'duplicateRecord' | 'swapRecords' }>,
): Uint8Array {
  const cd = centralHeaders(bytes);
  if (cd === undefined) return bytes;
  const records = cd.headers.map(([at, length]) => bytes.slice(at, at + length));
  if (m.kind === 'duplicateRecord') {
    const i = m.index % records.length;
    records.splice(i, 0, records[i]!);
  } else {
    const a = m.a % records.length;
    const b = m.b % records.length;
    [records[a], records[b]] = [records[b]!, records[a]!];
  }
  const newCd = concat(...records);
  const before = bytes.subarray(0, cd.cdOffset);
  const between = bytes.slice(cd.cdOffset + cd.cdSize, cd.eocd);
  const eocd = bytes.slice(cd.eocd);
  const view = new DataView(eocd.buffer);
  view.setUint16(8, Math.min(records.length, 0xffff), true);
  view.setUint16(10, Math.min(records.length, 0xffff), true);
  view.setUint32(12, newCd.length, true);
  const shift = newCd.length - cd.cdSize;
  if (between.length >= 76 && shift !== 0) {
    // ZIP64 end record + locator: keep them consistent with the edited directory
    const z = new DataView(between.buffer);
    z.setBigUint64(24, BigInt(records.length), true);
    z.setBigUint64(32, BigInt(records.length), true);
    z.setBigUint64(40, BigInt(newCd.length), true);
    z.setBigUint64(between.length - 20 + 8, z.getBigUint64(between.length - 20 + 8, true) + BigInt(shift), true);
  }
  return concat(before, newCd, between, eocd);
}

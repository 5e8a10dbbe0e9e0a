/**
 * `.data/serialization_id` as torch ≥ 2.2's `PyTorchStreamWriter::writeSerializationId`
 * (caffe2/serialize/inline_container.cc) computes it: 20 zero-padded digits of the record names'
 * hashes folded with `c10::hash_combine` in the iteration order of the `std::unordered_set` that
 * holds them, then 20 of the non-empty records' CRC-32s folded the same way in write order. The
 * string hash is libstdc++'s `std::_Hash_bytes` (64-bit), and the set's order follows libstdc++'s
 * bucket and rehash rules; the result matches every archive torch 2.13 wrote in
 * test/fixtures/torch2.
 *
 * @module
 */

const MASK = (1n << 64n) - 1n;
const MUL = (0xc6a4a793n << 32n) + 0x5bd1e995n;
const SEED = 0xc70f6907n;
const utf8 = new TextEncoder();

const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);

/** libstdc++'s `std::hash<std::string>` on 64-bit targets (`_Hash_bytes`, seed `0xc70f6907`). */
function stringHash(text: string): bigint {
  const bytes = utf8.encode(text);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const aligned = bytes.length & ~7;
  let hash = (SEED ^ (BigInt(bytes.length) * MUL)) & MASK;
  for (let i = 0; i < aligned; i += 8) {
    hash ^= (shiftMix((view.getBigUint64(i, true) * MUL) & MASK) * MUL) & MASK;
    hash = (hash * MUL) & MASK;
  }
  if (aligned < bytes.length) {
    let tail = 0n;
    for (let i = bytes.length - 1; i >= aligned; i--) tail = (tail << 8n) | BigInt(bytes[i]!);
    hash = ((hash ^ tail) * MUL) & MASK;
  }
  return shiftMix((shiftMix(hash) * MUL) & MASK);
}

/** `c10::hash_combine` (Boost's) on 64-bit values. */
function hashCombine(seed: bigint, value: bigint): bigint {
  return (seed ^ ((value + 0x9e3779b9n + ((seed << 6n) & MASK) + (seed >> 2n)) & MASK)) & MASK;
}

/** libstdc++'s `_Prime_rehash_policy`: small counts from its fast table, then its prime list. */
const FAST_BUCKETS = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13];
// prettier-ignore
const PRIMES = [
  17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 103, 109, 113, 127, 137, 139, 149, 157,
  167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313, 337, 359, 383, 409, 439, 467, 503, 541, 577, 619, 661, 709,
  761, 823, 887, 953, 1031, 1109, 1193, 1289, 1381, 1493, 1613, 1741, 1879, 2029, 2179, 2357, 2549, 2753, 2971, 3209,
  3469, 3739, 4027, 4349, 4703, 5087, 5503, 5953, 6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113, 12011, 12983, 14033,
  15173, 16411, 17749, 19183, 20753, 22447, 24281, 26267, 28411, 30727, 33223, 35933, 38873, 42043, 45481, 49201, 53201,
  57557, 62233, 67307, 72817, 78779, 85229, 92203, 99733,
];

/** The bucket count libstdc++ picks for at least `n` buckets; `undefined` past the primes listed here. */
function nextBucketCount(n: number): number | undefined {
  return n < FAST_BUCKETS.length ? FAST_BUCKETS[n]! : PRIMES.find((p) => p >= n);
}

/**
 * The iteration order of a libstdc++ `std::unordered_set<std::string>` after inserting `hashes` in
 * order: a new element goes first in its bucket's run, or first in the list when its bucket was
 * empty; a rehash (load factor 1, growth ×2 to the next prime) relinks the list the same way.
 */
function unorderedSetOrder(hashes: readonly bigint[]): bigint[] | undefined {
  let buckets = 1;
  let nextResize = 0;
  let list: bigint[] = [];
  const insert = (into: bigint[], h: bigint, count: number): void => {
    const bucket = h % BigInt(count);
    const at = into.findIndex((x) => x % BigInt(count) === bucket);
    into.splice(at === -1 ? 0 : at, 0, h);
  };
  for (const h of hashes) {
    const size = list.length;
    if (size + 1 > nextResize) {
      const minBuckets = Math.max(size + 1, nextResize === 0 ? 11 : 0);
      if (minBuckets >= buckets) {
        const grown = nextBucketCount(Math.max(minBuckets + 1, buckets * 2));
        if (grown === undefined) return undefined;
        buckets = grown;
        nextResize = buckets;
        const relinked: bigint[] = [];
        for (const x of list) insert(relinked, x, buckets);
        list = relinked;
      } else {
        nextResize = buckets;
      }
    }
    insert(list, h, buckets);
  }
  return list;
}

/** One record written before the id: its name inside the archive (without the prefix), CRC-32 and size. */
export interface WrittenRecord {
  readonly name: string;
  readonly crc: number;
  readonly size: number;
}

/**
 * The 40-digit `.data/serialization_id` torch writes after `records` (in write order), or
 * `undefined` for archives of more than ~100,000 records (beyond the bucket counts listed here).
 */
export function serializationId(records: readonly WrittenRecord[]): string | undefined {
  const order = unorderedSetOrder(records.map((r) => stringHash(r.name)));
  if (order === undefined) return undefined;
  let names = 0n;
  for (const h of order) names = hashCombine(names, h);
  let crcs = 0n;
  for (const r of records) if (r.size > 0) crcs = hashCombine(crcs, BigInt(r.crc));
  return names.toString().padStart(20, '0') + crcs.toString().padStart(20, '0');
}

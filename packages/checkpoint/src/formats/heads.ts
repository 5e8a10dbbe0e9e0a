/**
 * Magic-byte tests of the container formats whose heads could be confused; with the zip test
 * (`format-reader.ts`) and the tar test (`tar-members.ts`), no file head passes two of them
 * (detection must not depend on the order formats are tried in):
 *
 * | format | head |
 * |---|---|
 * | zip | `PK\x03\x04` at byte 0 (what torch sniffs) |
 * | tar | `ustar` at byte 257 and a header checksum that matches (what Python's `tarfile` checks) |
 * | safetensors | u64 LE header length `n` with `2 ≤ n ≤ 100 000 000` (the reference's cap) and `8 + n ≤` file size, `{` at byte 8 |
 * | legacy | the pickle of torch's magic number: `PROTO` 2–5, for 4–5 an optional `FRAME` no longer than the file, then `LONG1` of 10 bytes |
 * | sharded | a JSON object (no control bytes but whitespace) from a `*.json` file or mentioning `"weight_map"` |
 *
 * Why they are disjoint: safetensors' bytes 4–7 are zero (n < 2^32), which no JSON text and no
 * 10-byte `LONG1` after `PROTO` has (`80 0p 8a 0a` as a length is ≥ 177 865 344 > the cap; after a
 * `FRAME`, byte 8 is a frame-length byte, and `{` there would mean a frame of ≥ 2^46 bytes); zip,
 * legacy and JSON differ in byte 0. The remaining overlaps need coincidences (a safetensors header
 * of exactly 67 324 752 bytes that starts `PK\x03\x04`; a valid tar header checksum in another
 * format's head); {@link probe} then refuses the file instead of guessing.
 *
 * @module
 */
import { SAFETENSORS_MAX_HEADER } from '../safetensors.js';
import type { ByteSource } from '../source.js';

/** `PROTO`, `FRAME` and `LONG1` opcodes (pickletools). */
const PROTO = 0x80;
const FRAME = 0x95;
const LONG1 = 0x8a;
/** Bytes of `torch.serialization.MAGIC_NUMBER` (0x1950a86a20f9469cfc6c) as a `LONG1` payload. */
const MAGIC_LONG1_BYTES = 10;

/**
 * Whether the head starts a safetensors file whose header fits `size` and the reference reader's cap.
 *
 * @example
 * ```ts
 * isSafetensorsHead(new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]), 10); // true: '{}'
 * ```
 */
export function isSafetensorsHead(head: Uint8Array, size: number): boolean {
  if (head.length < 9) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(SAFETENSORS_MAX_HEADER) && n <= BigInt(size - 8) && head[8] === 0x7b;
}

/**
 * Whether the head starts torch's legacy stream: the pickle of the magic number (protocol 2–5,
 * with protocol 4–5 an optional `FRAME` whose length fits `size`, then a 10-byte `LONG1`). The
 * number itself is checked when the file is opened (`LEGACY_BAD_MAGIC`).
 *
 * @example
 * ```ts
 * isLegacyHead(Uint8Array.of(0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e), 1000); // true
 * ```
 */
export function isLegacyHead(head: Uint8Array, size: number): boolean {
  const protocol = head[1] ?? 0;
  if (head[0] !== PROTO || protocol < 2 || protocol > 5) return false;
  let at = 2;
  if (protocol >= 4 && head[at] === FRAME) {
    if (head.length < at + 9) return false;
    if (new DataView(head.buffer, head.byteOffset + at + 1, 8).getBigUint64(0, true) > BigInt(size)) return false;
    at += 9;
  }
  return head[at] === LONG1 && head[at + 1] === MAGIC_LONG1_BYTES;
}

/**
 * Whether the head is the start of a sharded index: JSON text (no control bytes other than
 * whitespace) opening an object, in a file named `*.json` or mentioning `"weight_map"`.
 *
 * @example
 * ```ts
 * isIndexHead(new TextEncoder().encode('{"weight_map": {}}'), fromBytes(new Uint8Array())); // true
 * ```
 */
export function isIndexHead(head: Uint8Array, source: ByteSource): boolean {
  const text = String.fromCharCode(...head);
  if (!/^[\t\n\r ]*\{/.test(text) || /[\0-\x08\x0b\x0c\x0e-\x1f]/.test(text)) return false;
  return (source.name ?? '').endsWith('.json') || text.includes('"weight_map"');
}

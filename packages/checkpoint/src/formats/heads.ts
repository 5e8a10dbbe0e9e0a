/**
 * Magic-byte tests of the container formats whose heads could be confused; with the zip test
 * (`format-reader.ts`) and the tar test (`tar-members.ts`), no real file head passes two of them
 * (detection must not depend on the order formats are tried in):
 *
 * | format | head |
 * |---|---|
 * | zip | `PK\x03\x04` at byte 0 (what torch sniffs) |
 * | tar | `ustar` at byte 257 |
 * | safetensors | u64 LE header length `n` with `2 ≤ n ≤ 100 000 000` (the reference's cap) and `8 + n ≤` file size, `{` at byte 8 after optional JSON whitespace |
 * | legacy | a pickle `PROTO` byte (`0x80`) that does not start a safetensors head (a real one starts the magic number's pickle, `LONG1` of 10 bytes), or the magic number as protocols 0 and 1 write it (`L` and its decimal digits) |
 * | sharded | a JSON object (no control bytes but whitespace) from a `*.json` file or mentioning `"weight_map"` |
 *
 * Why they are disjoint: safetensors' bytes 4–7 are zero (n < 2^32), which no JSON text has, and
 * the legacy test excludes safetensors heads by name, losing no real legacy file (its magic
 * number's `LONG1` puts nonzero bytes at 4–7, or a `FRAME` length that would have to be ≥ 2^46 for
 * byte 8 to be `{`); zip, legacy and JSON differ in byte 0; the protocol 0/1 magic (`L1950…`)
 * would, read as a safetensors length, put ASCII digits in bytes 1–7, far above the header cap.
 * The remaining overlaps need coincidences (a safetensors header of exactly 67 324 752 bytes that
 * starts `PK\x03\x04`; `ustar` at byte 257 of another format's head); {@link probe} then refuses
 * the file instead of guessing.
 *
 * @module
 */
import { jsonWhitespaceEnd, SAFETENSORS_MAX_HEADER } from './safetensors/header.js';
import { u64 } from '../little-endian.js';
import type { ByteSource } from '../source.js';

/** The pickle `PROTO` opcode (pickletools). */
const PROTO = 0x80;

/** Whether the head starts a safetensors file whose header fits `size` and the reference reader's cap. */
export function isSafetensorsHead(head: Uint8Array, size: number): boolean {
  if (head.length < 9) return false;
  const n = u64(new DataView(head.buffer, head.byteOffset, 8), 0); // rounded above 2^53, still above the cap
  return (
    n >= 2 && n <= SAFETENSORS_MAX_HEADER && n <= size - 8 && head[8 + jsonWhitespaceEnd(head.subarray(8))] === 0x7b
  );
}

/**
 * Whether the head starts torch's legacy stream: a pickle `PROTO` byte that does not start a
 * safetensors head (see {@link isSafetensorsHead}). A real legacy file never looks like one: its
 * first pickle is the magic number, a 10-byte `LONG1` (`80 0p 8a 0a` then the magic's nonzero bytes, or a
 * `FRAME` first), so excluding safetensors heads loses none. Any other pickle start still goes to
 * the legacy reader, which names what it finds (`PICKLE_PROTOCOL`, `PICKLE_TRUNCATED`,
 * `LEGACY_BAD_MAGIC`, or the unsafe global of a magic number computed by a call).
 */
export function isLegacyHead(head: Uint8Array, size: number): boolean {
  return head[0] === PROTO && !isSafetensorsHead(head, size);
}

/**
 * Whether the head is the start of a sharded index: JSON text (no control bytes other than
 * whitespace) opening an object, in a file named `*.json` or mentioning `"weight_map"`.
 */
export function isIndexHead(head: Uint8Array, source: ByteSource): boolean {
  if (head[jsonWhitespaceEnd(head)] !== 0x7b) return false; // before the head becomes text: every open tests it
  const text = String.fromCharCode(...head);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON text holds no raw control characters but whitespace
  if (/[\0-\x08\x0b\x0c\x0e-\x1f]/.test(text)) return false;
  return (source.name ?? '').endsWith('.json') || text.includes('"weight_map"');
}

/**
 * Bit-level codecs for the small float formats torch stores: IEEE half, bfloat16 and the float8 family.
 * Whole buffers are converted in tight loops over `Uint16Array`/`Uint32Array` views; 16-bit inputs are read
 * two elements per little-endian `Uint32` word (about 1.3x faster than one `Uint16` at a time). Widening
 * conversions take an optional output that may share the input's buffer when the input is its upper end
 * (see {@link checkWidening}), so a loader can read narrow elements into the back of the result buffer and
 * convert front to back without a second allocation.
 *
 * @module
 */

let halfTable: Uint32Array | undefined;

/**
 * float32 bit patterns of all 65,536 IEEE half values (built once, 256 KiB). NaNs keep sign and payload and
 * become quiet (bit 22 set), as torch 1.13's CPU conversion does (verified for all patterns).
 */
function halfToFloatBitsTable(): Uint32Array {
  if (halfTable !== undefined) return halfTable;
  const t = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >>> 10) & 0x1f;
    let man = h & 0x3ff;
    if (exp === 0x1f) {
      t[h] = sign | 0x7f800000 | (man === 0 ? 0 : 0x400000 | (man << 13));
    } else if (exp !== 0) {
      t[h] = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man === 0) {
      t[h] = sign;
    } else {
      let e = 113;
      while ((man & 0x400) === 0) {
        man <<= 1;
        e -= 1;
      }
      t[h] = sign | (e << 23) | ((man & 0x3ff) << 13);
    }
  }
  halfTable = t;
  return t;
}

/**
 * Throws a `RangeError` unless widening `src` front to back into `out` is safe: `out` has `src.length`
 * elements and, when both lie in one buffer, their byte ranges are disjoint or `src` sits far enough
 * behind `out`'s start that writing element `i` overwrites only input elements `<= i` (it does when
 * `src` is the upper end of `out`: `src` and `out` end at the same byte).
 *
 * @param src - Input elements.
 * @param out - Output elements (wider).
 *
 * @example
 * ```ts
 * const buffer = new ArrayBuffer(16);
 * checkWidening(new Uint16Array(buffer, 8, 4), new Float32Array(buffer)); // ok: the input is the top half
 * checkWidening(new Uint16Array(buffer, 0, 4), new Float32Array(buffer)); // throws
 * ```
 */
export function checkWidening(
  src: ArrayBufferView & { length: number },
  out: ArrayBufferView & { length: number },
): void {
  if (out.length !== src.length) throw new RangeError(`widening ${src.length} elements into ${out.length}`);
  if (src.buffer !== out.buffer || src.length === 0) return;
  const inEnd = src.byteOffset + src.byteLength;
  const outEnd = out.byteOffset + out.byteLength;
  if (inEnd <= out.byteOffset || outEnd <= src.byteOffset) return;
  const inSize = src.byteLength / src.length;
  const outSize = out.byteLength / out.length;
  if (src.byteOffset - out.byteOffset < (outSize - inSize) * (src.length - 1)) {
    throw new RangeError(
      `widening in place needs the input at the end of the output (input at byte ${src.byteOffset}, output at ${out.byteOffset})`,
    );
  }
}

/** `out`'s bytes as `Uint32Array` (the bit patterns of its float32 elements). */
function wordsOf(out: Float32Array): Uint32Array {
  return new Uint32Array(out.buffer, out.byteOffset, out.length);
}

/**
 * Widens IEEE half bit patterns to float32 (exact for every value). `out` (default: a new array) may be the
 * buffer `src` lies at the end of; see {@link checkWidening}.
 */
export function halfToFloat32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkWidening(src, out);
  const table = halfToFloatBitsTable();
  const bits = wordsOf(out);
  const n = src.length;
  let i = src.byteOffset % 4 === 0 || n === 0 ? 0 : 1;
  if (i === 1) bits[0] = table[src[0] as number] as number;
  // element i and i + 1 from one word (little-endian: the low half is element i); each word is read before
  // the two outputs it yields are written, which in place overwrite only inputs already read
  const words = new Uint32Array(src.buffer, src.byteOffset + 2 * i, (n - i) >>> 1);
  for (let j = 0; j < words.length; j++, i += 2) {
    const w = words[j] as number;
    bits[i] = table[w & 0xffff] as number;
    bits[i + 1] = table[w >>> 16] as number;
  }
  if (i < n) bits[i] = table[src[i] as number] as number;
  return out;
}

/**
 * Widens bfloat16 bit patterns to float32 (exact: a bfloat16 is the top half of a float32). `out` (default: a
 * new array) may be the buffer `src` lies at the end of; see {@link checkWidening}.
 */
export function bfloat16ToFloat32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  checkWidening(src, out);
  const bits = wordsOf(out);
  const n = src.length;
  let i = src.byteOffset % 4 === 0 || n === 0 ? 0 : 1;
  if (i === 1) bits[0] = (src[0] as number) << 16;
  const words = new Uint32Array(src.buffer, src.byteOffset + 2 * i, (n - i) >>> 1);
  for (let j = 0; j < words.length; j++, i += 2) {
    const w = words[j] as number;
    bits[i] = w << 16;
    bits[i + 1] = w & 0xffff0000;
  }
  if (i < n) bits[i] = (src[i] as number) << 16;
  return out;
}

/**
 * Rounds float32 values to IEEE half bit patterns, round-to-nearest-even; overflow goes to ±Inf and NaN to
 * `sign | 0x7e00`, like c10's `fp16_ieee_from_fp32_value`.
 */
export function float32ToHalf(src: Float32Array): Uint16Array {
  const inBits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = inBits[i] as number;
    const sign = (x >>> 16) & 0x8000;
    const abs = x & 0x7fffffff;
    if (abs > 0x7f800000) out[i] = sign | 0x7e00;
    else if (abs >= 0x477ff000) out[i] = sign | 0x7c00;
    else if (abs >= 0x38800000) out[i] = sign | ((abs + 0xfff + ((abs >>> 13) & 1) - 0x38000000) >>> 13);
    else if (abs <= 0x33000000) out[i] = sign;
    else {
      const shift = 126 - (abs >>> 23);
      const man = (abs & 0x7fffff) | 0x800000;
      const rem = man & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      let h = man >>> shift;
      if (rem > half || (rem === half && (h & 1) === 1)) h += 1;
      out[i] = sign | h;
    }
  }
  return out;
}

/**
 * Rounds float32 values to bfloat16 bit patterns, round-to-nearest-even; every NaN becomes `0xffff`, which is
 * what torch 1.13's CPU `Tensor.bfloat16()` writes (verified; c10's scalar `round_to_nearest_even` would give `0x7fc0`).
 */
export function float32ToBfloat16(src: Float32Array): Uint16Array {
  const inBits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = inBits[i] as number;
    out[i] = (x & 0x7fffffff) > 0x7f800000 ? 0xffff : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** The float8 layouts torch knows (`float8_e4m3fn`, `float8_e5m2`, the `fnuz` pair and `float8_e8m0fnu`). */
export type Float8Format = 'float8_e4m3fn' | 'float8_e5m2' | 'float8_e4m3fnuz' | 'float8_e5m2fnuz' | 'float8_e8m0fnu';

interface Float8Layout {
  expBits: number;
  manBits: number;
  bias: number;
  /** `ieee`: max exponent is Inf/NaN; `fn`: only all-ones is NaN; `fnuz`: 0x80 is NaN, no -0, no Inf; `e8m0`: unsigned powers of two. */
  kind: 'ieee' | 'fn' | 'fnuz' | 'e8m0';
}

const FLOAT8_LAYOUTS: Readonly<Record<Float8Format, Float8Layout>> = {
  float8_e4m3fn: { expBits: 4, manBits: 3, bias: 7, kind: 'fn' },
  float8_e5m2: { expBits: 5, manBits: 2, bias: 15, kind: 'ieee' },
  float8_e4m3fnuz: { expBits: 4, manBits: 3, bias: 8, kind: 'fnuz' },
  float8_e5m2fnuz: { expBits: 5, manBits: 2, bias: 16, kind: 'fnuz' },
  float8_e8m0fnu: { expBits: 8, manBits: 0, bias: 127, kind: 'e8m0' },
};

const float8Tables = new Map<Float8Format, Float32Array>();

/** float32 values of all 256 codes of a float8 format (built once per format). */
export function float8Table(format: Float8Format): Float32Array {
  const cached = float8Tables.get(format);
  if (cached !== undefined) return cached;
  const { expBits, manBits, bias, kind } = FLOAT8_LAYOUTS[format];
  const t = new Float32Array(256);
  const expMax = (1 << expBits) - 1;
  const manMax = (1 << manBits) - 1;
  for (let b = 0; b < 256; b++) {
    if (kind === 'e8m0') {
      t[b] = b === 0xff ? NaN : 2 ** (b - bias);
      continue;
    }
    const negative = (b & 0x80) !== 0;
    const e = (b >>> manBits) & expMax;
    const m = b & manMax;
    let v: number;
    if ((kind === 'fnuz' && b === 0x80) || (kind === 'fn' && e === expMax && m === manMax)) v = NaN;
    else if (kind === 'ieee' && e === expMax) v = m === 0 ? Infinity : NaN;
    else if (e === 0) v = m * 2 ** (1 - bias - manBits);
    else v = (1 + m / (1 << manBits)) * 2 ** (e - bias);
    t[b] = negative ? -v : v;
  }
  float8Tables.set(format, t);
  return t;
}

/**
 * Widens float8 codes to float32 (exact for every value). `out` (default: a new array) may be the buffer
 * `src` lies at the end of; see {@link checkWidening}.
 */
export function float8ToFloat32(
  src: Uint8Array,
  format: Float8Format,
  out: Float32Array = new Float32Array(src.length),
): Float32Array {
  checkWidening(src, out);
  const table = float8Table(format);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i] as number] as number;
  return out;
}

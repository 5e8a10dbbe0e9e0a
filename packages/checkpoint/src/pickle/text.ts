/**
 * Text decoding exactly as CPython's unpickler does it. Each function returns `undefined` for
 * input CPython would reject; the caller raises `PICKLE_STRING` with the offset.
 *
 * @module
 */

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * UTF-8 as Python's `str(b, 'utf-8')` (the `STRING` family with `encoding='utf-8'`, `GLOBAL`
 * lines): strict, surrogates rejected, a leading BOM kept.
 */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * UTF-8 with `surrogatepass`, as the `BINUNICODE` family is decoded: like {@link decodeUtf8} but
 * `ED A0..BF xx` (an encoded lone surrogate, which CPython writes for `'\ud800'`) is accepted.
 * Overlong forms, code points above U+10FFFF and truncated sequences are rejected.
 */
export function decodeUtf8Surrogatepass(bytes: Uint8Array): string | undefined {
  const fast = decodeUtf8(bytes);
  if (fast !== undefined) return fast;
  const units: number[] = [];
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b0 = bytes[i]!;
    let cp: number;
    let n: number;
    if (b0 < 0x80) [cp, n] = [b0, 1];
    else if (b0 >= 0xc2 && b0 < 0xe0) [cp, n] = [b0 & 0x1f, 2];
    else if (b0 >= 0xe0 && b0 < 0xf0) [cp, n] = [b0 & 0x0f, 3];
    else if (b0 >= 0xf0 && b0 < 0xf5) [cp, n] = [b0 & 0x07, 4];
    else return undefined;
    if (i + n > bytes.length) return undefined;
    for (let k = 1; k < n; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) return undefined;
      cp = (cp << 6) | (b & 0x3f);
    }
    if ((n === 3 && cp < 0x800) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) return undefined;
    if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    else units.push(cp);
    i += n;
    if (units.length >= 4096) out += String.fromCharCode(...units.splice(0));
  }
  return out + String.fromCharCode(...units);
}

/** Latin-1: every byte is the code point of the same value. */
export function decodeLatin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4096) out += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return out;
}

/**
 * Latin-1 encoding of a string whose code points are all ≤ 0xFF (`_codecs.encode(s, 'latin1')`,
 * how protocol 2 spells `bytes`); `undefined` otherwise.
 */
export function encodeLatin1(text: string): Uint8Array | undefined {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) return undefined;
    out[i] = c;
  }
  return out;
}

/**
 * Python's `raw-unicode-escape` decoding (protocol-0 `UNICODE`): bytes are Latin-1, except that
 * `\uXXXX` and `\UXXXXXXXX` after an odd run of backslashes are escapes.
 */
export function decodeRawUnicodeEscape(bytes: Uint8Array): string | undefined {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b !== 0x5c) {
      const start = i;
      while (i < bytes.length && bytes[i] !== 0x5c) i++;
      out += decodeLatin1(bytes.subarray(start, i));
      continue;
    }
    let j = i;
    while (j < bytes.length && bytes[j] === 0x5c) j++;
    const run = j - i;
    const marker = bytes[j];
    if (run % 2 === 1 && (marker === 0x75 || marker === 0x55)) {
      const digits = marker === 0x75 ? 4 : 8;
      const hex = decodeLatin1(bytes.subarray(j + 1, j + 1 + digits));
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) return undefined;
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff) return undefined;
      out += '\\'.repeat(run - 1) + String.fromCodePoint(cp);
      i = j + 1 + digits;
    } else {
      out += '\\'.repeat(run);
      i = j;
    }
  }
  return out;
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  '\\': 0x5c,
  "'": 0x27,
  '"': 0x22,
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
};

/**
 * Python's `codecs.escape_decode` (the body of a protocol-0 `STRING` argument, quotes removed):
 * `\\ \' \" \a \b \f \n \r \t \v`, `\ooo` octal, `\xhh` hex, backslash-newline removed, any other
 * `\c` kept as is. Returns bytes; `undefined` for a bad `\x` escape or a trailing backslash.
 */
export function escapeDecode(bytes: Uint8Array): Uint8Array | undefined {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b !== 0x5c) {
      out.push(b);
      continue;
    }
    if (++i >= bytes.length) return undefined;
    const c = String.fromCharCode(bytes[i]!);
    if (Object.hasOwn(SIMPLE_ESCAPES, c)) out.push(SIMPLE_ESCAPES[c]!);
    else if (c === '\n')
      continue; // backslash-newline: line continuation
    else if (c >= '0' && c <= '7') {
      let v = 0;
      const end = Math.min(i + 3, bytes.length);
      for (; i < end && bytes[i]! >= 0x30 && bytes[i]! <= 0x37; i++) v = v * 8 + bytes[i]! - 0x30;
      i--;
      out.push(v & 0xff);
    } else if (c === 'x') {
      const hex = decodeLatin1(bytes.subarray(i + 1, i + 3));
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else out.push(0x5c, bytes[i]!);
  }
  return Uint8Array.from(out);
}

/**
 * A Python `int()` literal as pickled by protocol 0 (`INT`, `LONG` without its `L`): optional
 * sign, decimal digits, surrounding whitespace. Safe integers are numbers, others `bigint`.
 */
export function parseIntLiteral(text: string): number | bigint | undefined {
  const m = /^\s*([+-]?)([0-9]+)\s*$/.exec(text);
  if (m === null) return undefined;
  const big = BigInt(`${m[1]}${m[2]}`);
  return toNumberIfSafe(big);
}

/** A Python `float()` literal as pickled by protocol 0 (`FLOAT`): `repr` output, `inf`, `nan`. */
export function parseFloatLiteral(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  const m = /^([+-]?)(inf|infinity|nan)$/.exec(t);
  if (m !== null) return m[2] === 'nan' ? Number.NaN : m[1] === '-' ? -Infinity : Infinity;
  if (!/^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(e[+-]?[0-9]+)?$/.test(t)) return undefined;
  return Number(t);
}

/** A `bigint` as a number when it is a safe integer. */
export function toNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

import { describe, expect, it } from 'vitest';
import {
  decodeRawUnicodeEscape,
  decodeUtf8Surrogatepass,
  encodeLatin1,
  escapeDecode,
  parseFloatLiteral,
  parseIntLiteral,
} from './text.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('CPython text decoders', () => {
  it('utf-8 surrogatepass keeps lone and paired encoded surrogates', () => {
    expect(decodeUtf8Surrogatepass(Uint8Array.from([0xed, 0xb0, 0x80]))).toBe('\udc00');
    // \ud83d\ude00 encoded as two surrogates is the same UTF-16 as U+1F600
    expect(decodeUtf8Surrogatepass(Uint8Array.from([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]))).toBe('\u{1f600}');
    expect(decodeUtf8Surrogatepass(Uint8Array.from([0xe0, 0x80, 0x80]))).toBeUndefined();
  });

  it('raw-unicode-escape decodes only \\u after an odd run of backslashes', () => {
    expect(decodeRawUnicodeEscape(b('\\u0041\\\\u0041\\U0001F600\\x'))).toBe('A\\\\u0041\u{1f600}\\x');
    expect(decodeRawUnicodeEscape(b('\\u00'))).toBeUndefined();
    expect(decodeRawUnicodeEscape(Uint8Array.from([0xe9]))).toBe('\u00e9');
  });

  it('escape_decode handles octal, hex, simple escapes and continuation', () => {
    expect(escapeDecode(b('\\101\\x41\\t\\q\\\n!'))).toEqual(Uint8Array.from([0x41, 0x41, 9, 0x5c, 0x71, 0x21]));
    expect(escapeDecode(b('\\x4'))).toBeUndefined();
    expect(escapeDecode(b('\\'))).toBeUndefined();
  });

  it('literals and latin-1', () => {
    expect(parseIntLiteral('+7')).toBe(7);
    expect(parseIntLiteral('1_0')).toBeUndefined();
    expect(parseFloatLiteral('nan')).toBeNaN();
    expect(parseFloatLiteral('1.5e3')).toBe(1500);
    expect(parseFloatLiteral('0x10')).toBeUndefined();
    expect(encodeLatin1('\u00ff\u0000')).toEqual(Uint8Array.from([255, 0]));
  });
});

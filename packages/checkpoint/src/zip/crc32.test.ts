import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, portableCrc32 } from './crc32.js';

describe('crc32', () => {
  it('has the standard check value for "123456789", natively and in JavaScript', () => {
    for (const f of [crc32, portableCrc32]) {
      expect(f(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
      expect(f(new Uint8Array(0))).toBe(0);
    }
  });

  it.skipIf(typeof process.getBuiltinModule !== 'function')('is zlib’s own crc32 in a Node that has one', () => {
    expect(crc32).toBe(zlibCrc32);
  });

  it('the JavaScript one agrees with zlib for every length 0..64 and when fed in chunks', () => {
    const data = Uint8Array.from({ length: 4099 }, (_, i) => (i * 7919) & 0xff);
    for (let n = 0; n <= 64; n++) expect(portableCrc32(data.subarray(0, n))).toBe(zlibCrc32(data.subarray(0, n)));
    expect(portableCrc32(data.subarray(1000), portableCrc32(data.subarray(0, 1000)))).toBe(zlibCrc32(data));
    expect(crc32(data.subarray(1000), crc32(data.subarray(0, 1000)))).toBe(zlibCrc32(data));
  });
});

import { describe, expect, it } from 'vitest';
import { formatBytes } from './format-bytes.js';

describe('formatBytes', () => {
  it('is exact below 1 KiB and three significant digits of the largest binary unit above', () => {
    expect([0, 1, 1023].map(formatBytes)).toEqual(['0 B', '1 B', '1023 B']);
    expect([1024, 7432, 4992, 16 * 2 ** 20].map(formatBytes)).toEqual(['1 KiB', '7.26 KiB', '4.88 KiB', '16 MiB']);
    // GPT-2 medium: 354,823,168 float32 parameters
    expect(formatBytes(354_823_168 * 4)).toBe('1.32 GiB');
    expect(formatBytes(3 * 2 ** 40)).toBe('3 TiB');
    expect(formatBytes(1023.9 * 2 ** 20)).toBe('1020 MiB'); // 3 significant digits, still MiB
  });

  it('keeps the sign of a negative count and prints non-finite counts as they are', () => {
    expect([-2048, -5].map(formatBytes)).toEqual(['-2 KiB', '-5 B']);
    expect([Number.POSITIVE_INFINITY, Number.NaN].map(formatBytes)).toEqual(['Infinity', 'NaN']);
  });
});

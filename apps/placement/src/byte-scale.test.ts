import { describe, expect, it } from 'vitest';
import { byteTicks, formatBytes } from './byte-scale.js';

describe('formatBytes', () => {
  it('is exact below 1 KiB and three significant digits of the largest binary unit above', () => {
    expect([0, 1, 1023].map(formatBytes)).toEqual(['0 B', '1 B', '1023 B']);
    expect([1024, 7432, 4992, 16 * 2 ** 20].map(formatBytes)).toEqual(['1 KiB', '7.26 KiB', '4.88 KiB', '16 MiB']);
    // GPT-2 medium: 354,823,168 float32 parameters
    expect(formatBytes(354_823_168 * 4)).toBe('1.32 GiB');
    expect(formatBytes(3 * 2 ** 40)).toBe('3 TiB');
    expect(formatBytes(1023.9 * 2 ** 20)).toBe('1020 MiB'); // 3 significant digits, still MiB
  });
});

describe('byteTicks', () => {
  it('climbs in power-of-two steps to the first tick at or above the maximum, at most six steps', () => {
    expect(byteTicks(7432).map(formatBytes)).toEqual(['0 B', '2 KiB', '4 KiB', '6 KiB', '8 KiB']);
    expect(byteTicks(354_823_168 * 4).map(formatBytes)).toEqual(['0 B', '256 MiB', '512 MiB', '768 MiB', '1 GiB', '1.25 GiB', '1.5 GiB']);
    expect(byteTicks(2 ** 30).map(formatBytes)).toEqual(['0 B', '256 MiB', '512 MiB', '768 MiB', '1 GiB']);
    expect(byteTicks(3)).toEqual([0, 1, 2, 3]);
    expect(byteTicks(0)).toEqual([0, 1]);
  });

  it('every tick is exact: formatBytes of it parses back to the same count', () => {
    for (const max of [1, 999, 1500, 7432, 123_456_789, 354_823_168 * 4, 5e12]) {
      const ticks = byteTicks(max);
      expect(ticks.length - 1).toBeLessThanOrEqual(6);
      expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(max);
      for (const t of ticks) {
        const [n, unit] = formatBytes(t).split(' ');
        expect(Number(n) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(unit!), `${max}: ${formatBytes(t)}`).toBe(t);
      }
    }
  });
});

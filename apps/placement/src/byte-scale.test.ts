import { describe, expect, it } from 'vitest';
import { formatBytes } from '@x/device';
import { byteTicks } from './byte-scale.js';

describe('byteTicks', () => {
  it('climbs in power-of-two steps to the first tick at or above the maximum, at most six steps', () => {
    expect(byteTicks(7432).map(formatBytes)).toEqual(['0 B', '2 KiB', '4 KiB', '6 KiB', '8 KiB']);
    expect(byteTicks(354_823_168 * 4).map(formatBytes)).toEqual([
      '0 B',
      '256 MiB',
      '512 MiB',
      '768 MiB',
      '1 GiB',
      '1.25 GiB',
      '1.5 GiB',
    ]);
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
        expect(Number(n) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(unit!), `${max}: ${formatBytes(t)}`).toBe(
          t,
        );
      }
    }
  });
});

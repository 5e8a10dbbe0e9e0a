/**
 * Round axis ticks for byte counts (printed with `@x/device`'s `formatBytes`).
 *
 * @module
 */

/**
 * Axis ticks from 0 to the first tick at or above `max` (at least 1 byte), at most six steps of a
 * power of two: every tick is then exact in `formatBytes` (`768 MiB`, `1 GiB`, `1.25 GiB`).
 */
export function byteTicks(max: number): number[] {
  const top = Math.max(1, max);
  let step = 1;
  while (Math.ceil(top / step) > 6) step *= 2;
  return Array.from({ length: Math.ceil(top / step) + 1 }, (_, i) => i * step);
}

/**
 * Byte counts for people: binary units with three significant digits, and round axis ticks.
 *
 * @module
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** The largest unit power (1024^k) not above `bytes`, 0 for bytes under 1 KiB. */
function unitPower(bytes: number): number {
  let k = 0;
  while (k < UNITS.length - 1 && bytes >= 1024 ** (k + 1)) k++;
  return k;
}

/**
 * `bytes` in the largest binary unit it fills, to three significant digits without trailing zeros:
 * exact below 1 KiB.
 *
 * @example
 * ```ts
 * formatBytes(16777216); // '16 MiB'
 * formatBytes(7432);     // '7.26 KiB'
 * formatBytes(1000);     // '1000 B'
 * ```
 */
export function formatBytes(bytes: number): string {
  const k = unitPower(bytes);
  if (k === 0) return `${bytes} B`;
  return `${Number((bytes / 1024 ** k).toPrecision(3))} ${UNITS[k]}`;
}

/**
 * Axis ticks from 0 to the first tick at or above `max` (at least 1 byte), at most six steps of a
 * power of two: every tick is then exact in {@link formatBytes} (`768 MiB`, `1 GiB`, `1.25 GiB`).
 *
 * @example
 * ```ts
 * byteTicks(7432).map(formatBytes); // ['0 B', '2 KiB', '4 KiB', '6 KiB', '8 KiB']
 * ```
 */
export function byteTicks(max: number): number[] {
  const top = Math.max(1, max);
  let step = 1;
  while (Math.ceil(top / step) > 6) step *= 2;
  return Array.from({ length: Math.ceil(top / step) + 1 }, (_, i) => i * step);
}

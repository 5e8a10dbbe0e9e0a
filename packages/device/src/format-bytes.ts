/**
 * Byte counts for people, shared by the apps' pages and reports.
 *
 * @module
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * `bytes` in the largest binary unit it fills, to three significant digits without trailing
 * zeros; exact below 1 KiB; negative counts keep their sign, and `Infinity` (an unbounded budget)
 * prints as itself.
 *
 * @example
 * ```ts
 * formatBytes(16777216); // '16 MiB'
 * formatBytes(7432);     // '7.26 KiB'
 * formatBytes(1000);     // '1000 B'
 * ```
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const size = Math.abs(bytes);
  let k = 0;
  while (k < UNITS.length - 1 && size >= 1024 ** (k + 1)) k++;
  const value = k === 0 ? size : Number((size / 1024 ** k).toPrecision(3));
  return `${bytes < 0 ? '-' : ''}${value} ${UNITS[k]}`;
}

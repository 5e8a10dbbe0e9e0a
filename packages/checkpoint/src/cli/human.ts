/**
 * Sizes for people: `1.4 GiB`.
 *
 * @module
 */

/** A byte count in binary units with one decimal (`0 B` … `1023 B`, then `1.0 KiB`, …). */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(bytes)} B` : `${v.toFixed(1)} ${units[u]}`;
}

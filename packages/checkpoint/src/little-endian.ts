/**
 * Little-endian integer readers shared by the zip reader and the pickle decoder.
 *
 * @module
 */

/**
 * `hi * 2**32 + lo` of the little-endian u64 at `at`: exact up to 2^53, and above that still
 * larger than any file, so bounds checks fail as they should.
 */
export function u64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
}

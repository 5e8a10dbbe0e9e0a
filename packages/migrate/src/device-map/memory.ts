/**
 * Memory sizes written the way accelerate's `max_memory` takes them.
 *
 * @module
 */

import { quote } from '@x/device';
import { MigrateError } from '../errors.js';

/** A byte count, or a string with a unit such as `'2GiB'`, `'500MB'`, `'8Gb'`. */
export type MemorySize = number | string;

const UNITS: ReadonlyArray<readonly [suffix: string, bytes: number, bitsAllowed: boolean]> = [
  ['GIB', 2 ** 30, false],
  ['MIB', 2 ** 20, false],
  ['KIB', 2 ** 10, false],
  ['GB', 10 ** 9, true],
  ['MB', 10 ** 6, true],
  ['KB', 10 ** 3, true],
];

const DECIMAL = /^\s*(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;

/**
 * Converts a memory size to bytes with accelerate's `convert_file_size_to_int` rules: a number is
 * bytes (floored); `GiB`/`MiB`/`KiB` are binary (2^30, 2^20, 2^10); `GB`/`MB`/`KB` are decimal
 * (10^9, 10^6, 10^3); units are case-insensitive except that a lower-case trailing `b` on a
 * decimal unit means bits (`'8Gb'` is 1 GB); a fractional result is truncated. A bare number in a
 * string (`'1000'`) is not accepted, as in accelerate.
 *
 * @throws MigrateError `MEMORY_INVALID` with accelerate's message.
 * @example
 * ```ts
 * parseMemory('2GiB');  // 2147483648
 * parseMemory('500MB'); // 500000000
 * parseMemory('8Gb');   // 1000000000
 * parseMemory(1024);    // 1024
 * ```
 */
export function parseMemory(size: MemorySize): number {
  if (typeof size === 'number') {
    if (Number.isFinite(size) && size >= 0) return Math.floor(size);
    throw invalid(String(size));
  }
  const upper = size.toUpperCase();
  for (const [suffix, unit, bitsAllowed] of UNITS) {
    if (!upper.endsWith(suffix)) continue;
    const digits = size.slice(0, -suffix.length);
    if (!DECIMAL.test(digits)) throw invalid(size);
    const bytes = Math.trunc(Number(digits) * unit);
    if (!Number.isSafeInteger(bytes)) throw invalid(size);
    return bitsAllowed && size.endsWith('b') ? Math.floor(bytes / 8) : bytes;
  }
  throw invalid(size);
}

function invalid(size: string): MigrateError {
  return new MigrateError(
    'MEMORY_INVALID',
    `\`size\` ${quote(size, '')} is not in a valid format. Use an integer for bytes, or a string with an unit (like '5.0GB').`,
    { size },
  );
}

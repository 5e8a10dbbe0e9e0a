/**
 * Resource limits of the reader. Every limit is configurable; the defaults are sized so that real
 * checkpoints never reach them.
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError, type CheckpointErrorCode, type ErrorWhere } from './errors.js';

/** All limits the reader enforces. */
export interface Limits {
  /** zip entries (one per storage plus a few metadata records). */
  readonly maxEntries: number;
  /** bytes of the zip central directory. */
  readonly maxCentralDirectory: number;
  /** UTF-8 bytes of one zip entry name. */
  readonly maxNameLength: number;
  /** bytes of one pickle (`data.pkl`), after inflating. */
  readonly maxPickleBytes: number;
  /** bytes of one `str` / `bytes` value in a pickle. */
  readonly maxStringBytes: number;
  /** payload bytes of one `LONG1` / `LONG4` (and digits/3 of a text `LONG`). */
  readonly maxLongBytes: number;
  /** bytes of one newline-terminated opcode argument (`GLOBAL` lines, text ints). */
  readonly maxLineBytes: number;
  /** opcodes executed by one pickle. */
  readonly maxOps: number;
  /** values on the pickle stack (all mark frames together). */
  readonly maxStack: number;
  /** open marks. */
  readonly maxMarks: number;
  /** nesting of containers, measured when a container receives its items. */
  readonly maxDepth: number;
  /** memo entries (the count, not the largest index). */
  readonly maxMemo: number;
  /** containers and objects a pickle creates. */
  readonly maxNodes: number;
  /** dimensions of a tensor. */
  readonly maxRank: number;
  /**
   * bytes of one materialised storage or tensor. Capped at {@link PLATFORM_MAX_BYTES}
   * (Node 20 typed arrays stop at 4 GiB), so a larger request fails with `TENSOR_TOO_LARGE`, never
   * with the engine's `RangeError`.
   */
  readonly maxTensorBytes: number;
  /** bytes of all materialised tensors together (no cap by default). */
  readonly maxTotalBytes: number;
  /** largest declared uncompressed : compressed ratio of a deflated entry. */
  readonly maxInflateRatio: number;
}

/** Name of one limit. */
export type LimitName = keyof Limits;

/** The default limits. */
export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxEntries: 100_000,
  maxCentralDirectory: 64 * 2 ** 20,
  maxNameLength: 1024,
  maxPickleBytes: 256 * 2 ** 20,
  maxStringBytes: 16 * 2 ** 20,
  maxLongBytes: 64,
  maxLineBytes: 256,
  maxOps: 10_000_000,
  maxStack: 1_000_000,
  maxMarks: 1000,
  maxDepth: 1000,
  maxMemo: 1_000_000,
  maxNodes: 10_000_000,
  maxRank: 64,
  maxTensorBytes: 2 ** 32,
  maxTotalBytes: Number.POSITIVE_INFINITY,
  maxInflateRatio: 1100,
});

/**
 * The largest typed array the JavaScript engine allocates (Node 20: `buffer.constants.MAX_LENGTH`
 * = 2^32 bytes); `maxTensorBytes` never exceeds it.
 */
export const PLATFORM_MAX_BYTES = 2 ** 32;

/** The error code each limit raises. */
const LIMIT_CODES: Readonly<Record<LimitName, CheckpointErrorCode>> = {
  maxEntries: 'ZIP_TOO_MANY_ENTRIES',
  maxCentralDirectory: 'ZIP_TOO_MANY_ENTRIES',
  maxNameLength: 'ZIP_UNSAFE_NAME',
  maxPickleBytes: 'PICKLE_LIMIT',
  maxStringBytes: 'PICKLE_LIMIT',
  maxLongBytes: 'PICKLE_LIMIT',
  maxLineBytes: 'PICKLE_LIMIT',
  maxOps: 'PICKLE_LIMIT',
  maxStack: 'PICKLE_LIMIT',
  maxMarks: 'PICKLE_LIMIT',
  maxDepth: 'PICKLE_LIMIT',
  maxMemo: 'PICKLE_LIMIT',
  maxNodes: 'PICKLE_LIMIT',
  maxRank: 'TENSOR_GEOMETRY',
  maxTensorBytes: 'TENSOR_TOO_LARGE',
  maxTotalBytes: 'TENSOR_TOO_LARGE',
  maxInflateRatio: 'ZIP_BOMB',
};

/**
 * Merges caller overrides into {@link DEFAULT_LIMITS}. Every value must be a positive number
 * (`Infinity` allowed); anything else is a programming error (`TypeError`).
 */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const merged: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    const problem = limitProblem(name, value);
    if (problem !== undefined) throw new TypeError(problem);
    merged[name] = value;
  }
  merged.maxTensorBytes = Math.min(merged.maxTensorBytes!, PLATFORM_MAX_BYTES);
  return Object.freeze(merged as unknown as Limits);
}

/**
 * What is wrong with overriding limit `name` by `value` (an unknown name, a value that is not a
 * positive number), or `undefined` when nothing is.
 */
export function limitProblem(name: string, value: unknown): string | undefined {
  if (!Object.hasOwn(DEFAULT_LIMITS, name)) return `unknown limit ${quote(name, "'")}`;
  if (typeof value !== 'number' || !(value > 0))
    return `limit '${name}' must be a positive number; got ${typeof value === 'string' ? quote(value) : quote(String(value), '')}`;
  return undefined;
}

/**
 * Throws the limit's error code when `value > max`, with `details` `{ limit, value, max }`.
 *
 * @param value - the measured quantity (a `bigint` is compared exactly).
 * @param limit - which limit this is; chooses the code (`PICKLE_LIMIT`, `ZIP_TOO_MANY_ENTRIES`, …).
 * @param what - what was measured, for the message (e.g. `'BINUNICODE length'`).
 * @param where - entry / offset for the error.
 */
export function checkBound(
  value: number | bigint,
  max: number,
  limit: LimitName,
  what: string,
  where: ErrorWhere = {},
): void {
  if (typeof value === 'bigint' ? max !== Number.POSITIVE_INFINITY && value > BigInt(Math.floor(max)) : value > max) {
    throw new CheckpointError(LIMIT_CODES[limit], `${what} is ${value}, above the limit ${limit} = ${max}`, {
      ...where,
      details: { limit, value: typeof value === 'bigint' ? value.toString() : value, max },
    });
  }
}

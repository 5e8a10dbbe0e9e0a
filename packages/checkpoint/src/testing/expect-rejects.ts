/**
 * The baseline assertion shared by every hostile-input test: the call rejects with exactly one
 * `CheckpointError` of the expected code (nothing else escapes, no value is returned), fast, with
 * bounded extra memory, built-in prototypes untouched, and a short message that echoes no payload.
 *
 * Memory is measured as the growth of `heapUsed + arrayBuffers` from before the call to just after
 * it returns (before the next collection), so garbage the call made counts against it. For inputs
 * of 1 MiB and more a full garbage collection runs first, so that a collection during the call is
 * unlikely to hide its allocations (for small inputs the collection would cost more time than the
 * whole call; a collection during the call can only make the measured growth smaller, never cause
 * a false failure). The collector comes from `globalThis.gc` (`--expose-gc`) or, when that is
 * absent, from setting V8's `--expose-gc` flag at run time and reading `gc` from a fresh VM
 * context. Without any collector the bound is widened by 64 MiB.
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MAX_MESSAGE_LENGTH } from '@x/device';
import { expect } from 'vitest';
import { isCheckpointError, type CheckpointError } from '../errors.js';

// Node defines many globals (AbortController, ReadableStream, …) as lazy getters that turn into
// plain values on first use; touch them all before @fast-check/poisoning snapshots the globals,
// so that first use by the reader is not reported as poisoning.
for (const name of Object.getOwnPropertyNames(globalThis)) void (globalThis as Record<string, unknown>)[name];
const { assertNoPoisoning } = await import('@fast-check/poisoning');

/** What a rejection must look like. */
export interface RejectExpectation {
  /** The exact `CheckpointError` code. */
  readonly code: string;
  /** Size of the hostile input; sets the time (< 1 s below 1 MiB) and memory bounds. */
  readonly inputBytes: number;
  /** Fields `details` must contain with these values. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  /** The error's absolute byte offset. */
  readonly offset?: number | undefined;
  /** Payload text that must not appear in the message. */
  readonly secret?: string | undefined;
  /** Extra memory allowed beyond `2 × inputBytes + 16 MiB` (a vector that says otherwise). */
  readonly extraMemory?: number | undefined;
}

/** Inputs below this size must be refused within {@link TIME_LIMIT_MS}. */
const SMALL_INPUT = 2 ** 20;
const TIME_LIMIT_MS = 1000;
const MIB = 2 ** 20;
/** Added to the memory bound when no garbage collector can be forced. */
const NO_GC_SLACK = 64 * MIB;

/** A function that runs a full garbage collection, or `undefined` when none can be obtained. */
export const collectGarbage: (() => void) | undefined = findGc();

function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes the process holds on the JS heap and in ArrayBuffers. */
export function heldBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Roots `assertNoPoisoning` ignores: stream state of console/process, and globals test infrastructure and TF.js create lazily. */
const IGNORED_ROOTS =
  /^(console$|process$|__vitest|__VITEST|_tfengine|_tfGlobals|__tfjs|tf$|__coverage|__fc|gc$|Symbol\(vitest)/;

/**
 * Asserts that `Object.prototype`, `Array.prototype`, `Map.prototype` and every other global are
 * as they were when `@fast-check/poisoning` was first imported.
 */
export function expectNoPoisoning(): void {
  assertNoPoisoning({ ignoredRootRegex: IGNORED_ROOTS });
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}

/**
 * Message hygiene: at most `MAX_MESSAGE_LENGTH` characters, no control or bidi characters (so no
 * raw payload bytes reach a terminal), and not containing `secret`.
 */
export function expectCleanMessage(message: string, secret?: string): void {
  expect(message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: no raw control character may reach a message
  expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
  if (secret !== undefined) expect(message).not.toContain(secret);
}

/**
 * Runs `run` and asserts the baseline: it rejects (or throws) with a
 * `CheckpointError` of exactly `expected.code` and returns nothing; `details` and `offset` match
 * when given; the message is clean ({@link expectCleanMessage}); inputs under 1 MiB take under a
 * second; held memory (see the module notes) grows by at most `2 × inputBytes + 16 MiB` (+64 MiB without a collector);
 * no global is poisoned. Returns the error for further checks.
 *
 * @example
 * ```ts
 * const e = await expectRejects(() => open(bytes), { code: 'ZIP_OVERLAP', inputBytes: bytes.length });
 * expect(e.entry).toBe('archive/a');
 * ```
 */
export async function expectRejects(run: () => unknown, expected: RejectExpectation): Promise<CheckpointError> {
  if (expected.inputBytes >= SMALL_INPUT) collectGarbage?.();
  const before = heldBytes();
  const started = performance.now();
  let result: unknown;
  let error: unknown;
  let threw = false;
  try {
    result = await run();
  } catch (e) {
    error = e;
    threw = true;
  }
  const elapsed = performance.now() - started;
  const grown = heldBytes() - before;
  if (!threw) expect.fail(`expected ${expected.code}, but the call returned ${describe(result)}`);
  if (!isCheckpointError(error)) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    expect.fail(`expected CheckpointError ${expected.code}, got ${what.slice(0, 300)}`);
  }
  expect({ code: error.code, message: error.message }).toMatchObject({ code: expected.code });
  if (expected.details !== undefined) expect(error.details ?? {}).toMatchObject(expected.details);
  if (expected.offset !== undefined) expect(error.offset).toBe(expected.offset);
  expectCleanMessage(error.message, expected.secret);
  if (expected.inputBytes < SMALL_INPUT)
    expect(elapsed, `${expected.code} took ${elapsed.toFixed(0)} ms`).toBeLessThan(TIME_LIMIT_MS);
  const bound =
    2 * expected.inputBytes + 16 * MIB + (expected.extraMemory ?? 0) + (collectGarbage === undefined ? NO_GC_SLACK : 0);
  expect(grown, `held memory grew by ${(grown / MIB).toFixed(1)} MiB`).toBeLessThanOrEqual(bound);
  expectNoPoisoning();
  return error;
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  return v.constructor?.name ?? 'an object';
}

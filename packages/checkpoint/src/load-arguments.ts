/**
 * Run-time checks of what callers pass to `open`, `load` and `inspect`, so that a JavaScript
 * caller's wrong source or option fails with a `CheckpointError` (`SOURCE_INVALID`,
 * `OPTION_INVALID`) naming the argument, before anything is read; and the guard around a
 * caller's own `ByteSource`, whose broken reads fail with `SOURCE_IO` / `INPUT_TRUNCATED`.
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError, isCheckpointError } from './errors.js';
import { limitProblem } from './limits.js';
import type { ByteSource } from './source.js';

/** The values each string option takes. */
const CHOICES: Readonly<Record<string, readonly string[]>> = {
  dtype: ['convert', 'strict', 'raw'],
  unknownClasses: ['error', 'record'],
};

/** The `typeof` each other checked option has. */
const TYPES: Readonly<Record<string, 'boolean' | 'function'>> = {
  verify: 'boolean',
  mmap: 'boolean',
  onProgress: 'function',
};

/** What `load` calls on a `runtime` (a `DeviceRuntime` of `@x/device`). */
const RUNTIME_METHODS = ['check', 'place', 'prepare', 'dispose'] as const;

/**
 * Throws `OPTION_INVALID` unless `options` is `undefined` or an object whose `dtype`,
 * `unknownClasses`, `verify`, `mmap`, `onProgress`, `runtime` and `limits` (those given) have the
 * types and values `LoadOptions` declares. `mapLocation` is `@x/device`'s to check
 * (`MAP_LOCATION_INVALID`, `DEVICE_INVALID`, `LOCATION_UNKNOWN`, when a storage is placed).
 */
export function checkLoadOptions(options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options);
  const o = options as Readonly<Record<string, unknown>>;
  for (const [name, choices] of Object.entries(CHOICES)) {
    const v = o[name];
    if (v !== undefined && !choices.includes(v as string)) throw invalid(name, oneOf(choices), v);
  }
  for (const [name, type] of Object.entries(TYPES)) {
    const v = o[name];
    if (v !== undefined && typeof v !== type) throw invalid(name, `a ${type}`, v);
  }
  const { runtime, limits } = o;
  if (runtime !== undefined && !isRuntime(runtime)) {
    throw invalid('runtime', `a DeviceRuntime of @x/device (with ${RUNTIME_METHODS.join(', ')} and a ledger)`, runtime);
  }
  if (limits !== undefined) {
    if (typeof limits !== 'object' || limits === null)
      throw invalid('limits', 'an object of limits (see DEFAULT_LIMITS)', limits);
    for (const [name, value] of Object.entries(limits)) {
      const problem = limitProblem(name, value);
      if (problem !== undefined)
        throw new CheckpointError('OPTION_INVALID', `option limits: ${problem}`, { details: { option: 'limits' } });
    }
  }
}

/**
 * `input` as a {@link ByteSource} when it is one (`read` a function, `size` a byte count), with
 * its reads checked: a read that throws anything but a `CheckpointError` fails with `SOURCE_IO`
 * (the thrown value as `cause`), one that resolves to anything but a `Uint8Array` of the length
 * asked for with `SOURCE_IO`, or `INPUT_TRUNCATED` when it is shorter. Anything else fails with
 * `SOURCE_INVALID`.
 */
export function callerByteSource(input: unknown): ByteSource {
  const expected = 'a ByteSource, Uint8Array, ArrayBuffer, Blob, URL or string';
  if (typeof input !== 'object' || input === null || typeof (input as ByteSource).read !== 'function') {
    throw new CheckpointError('SOURCE_INVALID', `the source must be ${expected}; got ${describe(input)}`);
  }
  const source = input as ByteSource;
  if (!Number.isSafeInteger(source.size) || source.size < 0) {
    throw new CheckpointError(
      'SOURCE_INVALID',
      `a ByteSource's size must be a byte count; got ${describe(source.size)}`,
    );
  }
  const label = source.name === undefined ? 'the ByteSource' : `ByteSource ${quote(String(source.name))}`;
  const fail = (call: string, offset: number, cause: unknown): never => {
    if (isCheckpointError(cause)) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new CheckpointError('SOURCE_IO', `${label}: ${call} failed: ${quote(reason, '')}`, { offset, cause });
  };
  const read = async (offset: number, length: number): Promise<Uint8Array> => {
    const call = `read(${offset}, ${length})`;
    let bytes: unknown;
    try {
      bytes = await source.read(offset, length);
    } catch (e) {
      return fail(call, offset, e);
    }
    if (!(bytes instanceof Uint8Array) || bytes.length > length) {
      throw new CheckpointError(
        'SOURCE_IO',
        `${label}: ${call} resolved to ${describe(bytes)}; expected a Uint8Array of ${length} bytes`,
        { offset },
      );
    }
    if (bytes.length < length) {
      throw new CheckpointError('INPUT_TRUNCATED', `${label}: ${call} delivered ${bytes.length} bytes`, {
        offset,
        details: { length, delivered: bytes.length },
      });
    }
    return bytes;
  };
  const into = source.readInto?.bind(source);
  if (into === undefined) return { size: source.size, name: source.name, read };
  const readInto = async (target: Uint8Array, offset: number): Promise<void> => {
    try {
      await into(target, offset);
    } catch (e) {
      fail(`readInto(${target.length} bytes at ${offset})`, offset, e);
    }
  };
  return { size: source.size, name: source.name, read, readInto };
}

function isRuntime(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Readonly<Record<string, unknown>>;
  return RUNTIME_METHODS.every((m) => typeof r[m] === 'function') && typeof r.ledger === 'object' && r.ledger !== null;
}

function invalid(option: string, expected: string, found: unknown): CheckpointError {
  const what = option === 'options' ? 'options' : `option ${option}`;
  return new CheckpointError('OPTION_INVALID', `${what} must be ${expected}; got ${describe(found)}`, {
    details: { option },
  });
}

function oneOf(choices: readonly string[]): string {
  const quoted = choices.map((c) => `'${c}'`);
  return `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)!}`;
}

/** A value as a message shows it: strings quoted, other primitives as written, objects by kind. */
function describe(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (v === null || typeof v !== 'object') return typeof v === 'function' ? 'a function' : quote(String(v), '');
  if (Array.isArray(v)) return 'an array';
  return `an object (${quote((v as object).constructor?.name ?? 'no prototype', '')})`;
}

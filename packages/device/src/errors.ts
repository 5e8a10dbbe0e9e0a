/**
 * The error base of the `@x` packages ({@link CodedError}: a stable string code, structured
 * details, a bounded message), `@x/device`'s own {@link DeviceError}, and {@link quote}, the one way
 * untrusted text enters a message.
 *
 * @module
 */

/** Longest message a {@link CodedError} carries; longer ones are cut and end with `…`. */
export const MAX_MESSAGE_LENGTH = 512;

/** Longest piece of untrusted text (names from a file, caller strings, URLs) {@link quote} echoes. */
export const MAX_QUOTED_LENGTH = 64;

/** Optional fields of a {@link CodedError}. */
export interface CodedErrorInit {
  /** Structured facts about the failure (sizes, limits, names); never raw file bytes. */
  readonly details?: Record<string, unknown> | undefined;
  /** The underlying error, when one was wrapped. */
  readonly cause?: unknown;
}

/**
 * Base of the error classes of `@x/device` ({@link DeviceError}), `@x/checkpoint`
 * (`CheckpointError`) and `@x/migrate` (`MigrateError`): a stable machine-readable `code`,
 * `details` for programs, `cause` when another error was wrapped, and a message of at most
 * {@link MAX_MESSAGE_LENGTH} characters whose untrusted parts went through {@link quote}.
 *
 * @example
 * ```ts
 * class ToyError extends CodedError<'TOY_BROKEN'> {
 *   constructor(message: string) { super('ToyError', 'TOY_BROKEN', message); }
 * }
 * ```
 */
export abstract class CodedError<Code extends string = string> extends Error {
  /** Stable machine-readable code. */
  readonly code: Code;
  /** Structured facts about the failure. */
  readonly details: Record<string, unknown> | undefined;

  /**
   * @param name - the class name, also what {@link isCodedError} matches (kept explicit: bundlers rename classes).
   * @param code - stable code.
   * @param message - what was expected, what was found and where; cut to {@link MAX_MESSAGE_LENGTH}.
   * @param init - details and cause.
   */
  protected constructor(name: string, code: Code, message: string, init: CodedErrorInit = {}) {
    super(
      message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = name;
    this.code = code;
    this.details = init.details;
  }
}

/**
 * Whether `e` is an `Error` named `name` with a string `code`: the guard behind `isDeviceError`,
 * `isCheckpointError` and `isMigrateError`, which works across duplicate copies of a package
 * (where `instanceof` does not).
 */
export function isCodedError(e: unknown, name: string): e is CodedError {
  return e instanceof Error && e.name === name && typeof (e as { code?: unknown }).code === 'string';
}

/** Stable error codes thrown by `@x/device`. */
export type DeviceErrorCode =
  | 'DEVICE_INVALID'
  | 'DEVICE_UNAVAILABLE'
  | 'LOCATION_UNKNOWN'
  | 'MAP_LOCATION_INVALID'
  | 'BACKEND_UNBOUND'
  | 'DTYPE_UNSUPPORTED'
  | 'DTYPE_LOSSY'
  | 'DTYPE_BYTES'
  | 'META_NO_DATA'
  | 'SHAPE_MISMATCH';

/** Error thrown by every function of `@x/device`. */
export class DeviceError extends CodedError<DeviceErrorCode> {
  /**
   * @param code - stable code.
   * @param message - torch's text where torch has one.
   * @param details - device strings, counts, dtypes, element index.
   */
  constructor(code: DeviceErrorCode, message: string, details?: Record<string, unknown>) {
    super('DeviceError', code, message, { details });
  }
}

/** Type guard for {@link DeviceError}; works across duplicate copies of the package (checks name and code). */
export function isDeviceError(e: unknown): e is DeviceError {
  return isCodedError(e, 'DeviceError');
}

/**
 * The quotation mark {@link quote} wraps text in: `"` (default), `'` where torch's wording uses
 * single quotes, or none where the text stands bare in torch's wording.
 */
export type QuoteMark = '"' | "'" | '';

/**
 * Makes untrusted text safe to echo in a message: cut to {@link MAX_QUOTED_LENGTH} UTF-16 units,
 * `\` and the quotation mark escaped with `\`, everything outside printable ASCII written as `\xNN`
 * or `\uNNNN` (so names from a file cannot forge lines, colours or bidi reordering in a log), then
 * wrapped in `mark`; a cut is marked with `…` after the closing mark.
 *
 * @example
 * ```ts
 * quote('os\nsystem'); // '"os\\x0asystem"'
 * quote('cuda:01', "'"); // "'cuda:01'"
 * quote('a'.repeat(100), '').length; // 65: 64 characters and '…'
 * ```
 */
export function quote(text: string, mark: QuoteMark = '"'): string {
  const cut = text.length > MAX_QUOTED_LENGTH;
  const head = cut ? text.slice(0, MAX_QUOTED_LENGTH) : text;
  const escaped = head.replace(/[^\x20-\x7e]|["'\\]/g, (c) => {
    if (c === '\\' || c === mark) return `\\${c}`;
    if (c === '"' || c === "'") return c;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return `${mark}${escaped}${mark}${cut ? '…' : ''}`;
}

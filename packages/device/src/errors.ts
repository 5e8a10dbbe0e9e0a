/**
 * The one error class of `@x/device`, with stable string codes.
 *
 * @module
 */

/**
 * Stable error codes thrown by `@x/device`.
 *
 * @example
 * ```ts
 * const code: DeviceErrorCode = 'DEVICE_UNAVAILABLE';
 * ```
 */
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

/**
 * Longest message a {@link DeviceError} carries.
 *
 * @example
 * ```ts
 * err.message.length <= MAX_MESSAGE_LENGTH; // always true
 * ```
 */
export const MAX_MESSAGE_LENGTH = 512;

/**
 * Longest piece of caller- or file-provided text echoed into a message.
 *
 * @example
 * ```ts
 * clip('x'.repeat(100)); // the first MAX_QUOTED_LENGTH (64) characters, marked as cut
 * ```
 */
const MAX_QUOTED_LENGTH = 64;

/**
 * Error thrown by every function of `@x/device`.
 *
 * @example
 * ```ts
 * try { device('cuda:01'); } catch (e) { if (isDeviceError(e)) console.log(e.code); } // 'DEVICE_INVALID'
 * ```
 */
export class DeviceError extends Error {
  /** Stable machine-readable code. */
  readonly code: DeviceErrorCode;
  /** Structured facts about the failure (device strings, counts, dtypes, element index). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: DeviceErrorCode, message: string, details?: Record<string, unknown>) {
    super(message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message);
    this.name = 'DeviceError';
    this.code = code;
    this.details = details;
  }
}

/**
 * Type guard for {@link DeviceError}; works across duplicate copies of the package (checks name and code).
 *
 * @example
 * ```ts
 * if (isDeviceError(e) && e.code === 'DEVICE_UNAVAILABLE') useCpuInstead();
 * ```
 */
export function isDeviceError(e: unknown): e is DeviceError {
  return (
    e instanceof Error &&
    e.name === 'DeviceError' &&
    typeof (e as { code?: unknown }).code === 'string'
  );
}

/**
 * Makes untrusted text safe to echo in a message: cut to {@link MAX_QUOTED_LENGTH} characters and every
 * character outside printable ASCII written as `\uXXXX`.
 *
 * @example
 * ```ts
 * clip('cuda\n'); // 'cuda\\u000a'
 * ```
 */
export function clip(text: string): string {
  const cut = text.length > MAX_QUOTED_LENGTH;
  const head = cut ? text.slice(0, MAX_QUOTED_LENGTH) : text;
  const escaped = head.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return cut ? `${escaped}…` : escaped;
}

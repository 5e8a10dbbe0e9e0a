/**
 * The one error class of `@x/migrate`, with stable string codes (a `CodedError` of `@x/device`),
 * and {@link listNames}, which joins names for a message.
 *
 * @module
 */
import { CodedError, isCodedError, quote } from '@x/device';

/**
 * Stable codes of {@link MigrateError}. Match on the code, never on the message.
 *
 * - `MODULE_NAME_INVALID` — an empty name or a name with a `.` given to `registerParameter`,
 *   `registerBuffer`, `addModule` or found in a state-dict key.
 * - `MODULE_NAME_TAKEN` — the name is already a parameter, buffer or submodule of that module.
 * - `LOAD_STATE_DICT` — `loadStateDict` found missing or unexpected keys (strict), a shape or
 *   dtype mismatch, or a value that is not a tensor; the message is torch's text.
 * - `MEMORY_INVALID` — a `maxMemory` size `parseMemory` cannot read.
 * - `DEVICE_MAP_INVALID` — a device map or planner option that is not well-formed.
 * - `DEVICE_MAP_UNCOVERED` — an explicit device map gives no device for some tensors.
 * - `DEVICE_MAP_TIED_SPLIT` — a device map puts the names of one tied tensor on different devices.
 * - `PLAN_DOES_NOT_FIT` — the planner ran out of devices before every module was placed.
 * - `DEVICE_MISMATCH` — tensors of one call live on different devices (torch's text).
 * - `DEVICE_NOT_RUNNABLE` — a module cannot run on its device (no backend bound, e.g. `meta`).
 * - `STORAGE_SPLIT` — a device map puts two tensors that share one storage on different devices.
 * - `RELOCATE_UNSUPPORTED` — `relocateCheckpoint` was given a file whose locations it cannot
 *   rewrite (safetensors, tar, TorchScript, not a checkpoint).
 * - `RELOCATE_SAME_FILE` — `relocateCheckpoint` was asked to write over its input.
 * - `CLI_USAGE` — `x-migrate` was given arguments it cannot use.
 */
export type MigrateErrorCode =
  | 'MODULE_NAME_INVALID'
  | 'MODULE_NAME_TAKEN'
  | 'LOAD_STATE_DICT'
  | 'MEMORY_INVALID'
  | 'DEVICE_MAP_INVALID'
  | 'DEVICE_MAP_UNCOVERED'
  | 'DEVICE_MAP_TIED_SPLIT'
  | 'PLAN_DOES_NOT_FIT'
  | 'DEVICE_MISMATCH'
  | 'DEVICE_NOT_RUNNABLE'
  | 'STORAGE_SPLIT'
  | 'RELOCATE_UNSUPPORTED'
  | 'RELOCATE_SAME_FILE'
  | 'CLI_USAGE';

/**
 * Error thrown by `@x/migrate`. `code` is stable; `message` says what was expected, what was
 * found and where, and is at most 512 characters; `details` holds the complete data (full key
 * lists, byte counts) for programs.
 */
export class MigrateError extends CodedError<MigrateErrorCode> {
  /**
   * @param code - Stable code.
   * @param message - Human-readable text; cut to 512 characters.
   * @param details - Complete data for programs.
   */
  constructor(code: MigrateErrorCode, message: string, details?: Record<string, unknown>) {
    super('MigrateError', code, message, { details });
  }
}

/** Type guard for {@link MigrateError}, also across duplicate copies of this package. */
export function isMigrateError(e: unknown): e is MigrateError {
  return isCodedError(e, 'MigrateError');
}

/**
 * Joins names for a message the way torch and accelerate do, each through `quote` (bare, or
 * double-quoted with `quote: true`); stops after `limit` names with "… and N more".
 */
export function listNames(names: readonly string[], options: { quote?: boolean; limit?: number } = {}): string {
  const limit = options.limit ?? 8;
  const shown = names.slice(0, limit).map((n) => quote(n, options.quote ? '"' : ''));
  const rest = names.length - shown.length;
  return rest > 0 ? `${shown.join(', ')}, … and ${rest} more` : shown.join(', ');
}

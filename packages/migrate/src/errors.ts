/**
 * The one error class of `@x/migrate`, with stable string codes.
 *
 * @module
 */

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
 *
 * @example
 * ```ts
 * const code: MigrateErrorCode = 'DEVICE_MAP_UNCOVERED';
 * ```
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

/** Longest message a {@link MigrateError} carries; the full data is in `details`. */
const MAX_MESSAGE = 512;
/** Longest piece of caller- or file-provided text quoted in a message. */
const MAX_QUOTED = 64;

/**
 * Error thrown by `@x/migrate`. `code` is stable; `message` says what was expected, what was
 * found and where, and is at most 512 characters; `details` holds the complete data (full key
 * lists, byte counts) for programs.
 *
 * @example
 * ```ts
 * try {
 *   resolveDeviceMap({ features: 'cpu' }, ['features.0.weight', 'classifier.weight']);
 * } catch (e) {
 *   if (isMigrateError(e) && e.code === 'DEVICE_MAP_UNCOVERED') console.log(e.details);
 * }
 * ```
 */
export class MigrateError extends Error {
  /** Stable machine-readable code. */
  readonly code: MigrateErrorCode;
  /** Complete data behind the message (not bounded). */
  readonly details: Record<string, unknown> | undefined;

  /**
   * @param code - Stable code.
   * @param message - Human-readable text; cut to 512 characters.
   * @param details - Complete data for programs.
   */
  constructor(code: MigrateErrorCode, message: string, details?: Record<string, unknown>) {
    super(message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message);
    this.name = 'MigrateError';
    this.code = code;
    this.details = details;
  }
}

/**
 * Type guard for {@link MigrateError}, also across duplicate copies of this package.
 *
 * @example
 * ```ts
 * if (isMigrateError(e)) console.log(e.code);
 * ```
 */
export function isMigrateError(e: unknown): e is MigrateError {
  return (
    e instanceof MigrateError ||
    (e instanceof Error && e.name === 'MigrateError' && typeof (e as { code?: unknown }).code === 'string')
  );
}

/**
 * Makes caller- or file-provided text safe to show in a message: cut to 64 characters and with
 * control and non-ASCII characters escaped (`\n`, `\u00e9`), so names that came from a checkpoint
 * cannot forge lines or flood a log.
 *
 * @example
 * ```ts
 * printable('features.0.weight'); // 'features.0.weight'
 * printable('a\nb');              // 'a\\nb'
 * ```
 */
export function printable(text: string): string {
  const cut = text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text;
  return cut.replace(/[^\x20-\x7e…]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * Joins names for a message the way torch and accelerate do, each made {@link printable} and
 * optionally double-quoted; stops after `limit` names with "… and N more".
 *
 * @example
 * ```ts
 * listNames(['a', 'b'], { quote: true }); // '"a", "b"'
 * ```
 */
export function listNames(names: readonly string[], options: { quote?: boolean; limit?: number } = {}): string {
  const limit = options.limit ?? 8;
  const shown = names.slice(0, limit).map((n) => (options.quote ? `"${printable(n)}"` : printable(n)));
  const rest = names.length - shown.length;
  return rest > 0 ? `${shown.join(', ')}, … and ${rest} more` : shown.join(', ');
}

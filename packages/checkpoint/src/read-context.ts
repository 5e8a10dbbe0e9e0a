/**
 * The reader's options, resolved once where a user calls in (`open`, `load`, `inspect`,
 * `openContainer`, `openZip`, `unpickle`) into one {@link ReadContext} that the inner layers
 * (formats, zip, pickle) take as it is.
 *
 * @module
 */
import { resolveLimits, type Limits } from './limits.js';
import type { ByteSource } from './source.js';

/** Options every reading entry point takes. */
export interface ReadOptions {
  /** Resource limits (defaults: `DEFAULT_LIMITS`). */
  readonly limits?: Partial<Limits>;
  /** Verify zip CRC-32s of the records read (torch never does; records written with CRCs disabled then fail). */
  readonly verify?: boolean;
  /**
   * `'error'` (default): a pickle global outside the allow list fails with `PICKLE_UNSAFE_GLOBAL`.
   * `'record'`: unknown classes become inert `PyObject` records (old `torch.save(model)` files
   * still yield their tensors). Nothing is executed either way; `sys`, `os`, `posix`, `nt` are
   * refused in both modes.
   */
  readonly unknownClasses?: 'error' | 'record';
}

/** {@link ReadOptions} resolved: what the formats, the zip reader and the unpickler take. */
export interface ReadContext {
  readonly limits: Limits;
  readonly verify: boolean;
  readonly unknownClasses: 'error' | 'record';
  /**
   * Opens a file next to the one being read, by its name relative to it (sharded indexes name
   * their shards this way). Names are validated first: no absolute paths, no `..`, no `\`.
   */
  readonly resolve?: ((relativeName: string) => Promise<ByteSource>) | undefined;
}

/** Resolves `options` (limits merged into the defaults and checked, `TypeError` for a bad one). */
export function readContext(options: ReadOptions & Pick<ReadContext, 'resolve'> = {}): ReadContext {
  return Object.freeze({
    limits: resolveLimits(options.limits),
    verify: options.verify === true,
    unknownClasses: options.unknownClasses ?? 'error',
    resolve: options.resolve,
  });
}

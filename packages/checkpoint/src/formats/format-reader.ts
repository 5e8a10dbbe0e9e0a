/**
 * What every format module provides, and the options they share. A format is an object
 * `{ id, test, open }`: `test` looks at the first {@link HEAD_BYTES} bytes only (cheap magic-byte
 * checks, nothing parsed), `open` validates the file and returns a {@link FormatContainer}.
 *
 * @module
 */
import type { CheckpointFormat, Container } from '../container.js';
import type { Limits } from '../limits.js';
import type { ByteSource } from '../source.js';

/**
 * Bytes of the file head handed to {@link CheckpointFormatReader.test} (a tar header is 512).
 *
 * @example
 * ```ts
 * const head = await source.read(0, Math.min(HEAD_BYTES, source.size));
 * ```
 */
export const HEAD_BYTES = 512;

/**
 * Options of every format's `open` and of `openContainer`.
 *
 * @example
 * ```ts
 * const options: OpenOptions = { unknownClasses: 'record', resolve: (name) => fromFile(join(dir, name)) };
 * ```
 */
export interface OpenOptions {
  /** Resource limits (defaults: `DEFAULT_LIMITS`). */
  readonly limits?: Partial<Limits>;
  /**
   * `'error'` (default): a pickle global outside the allow list fails with `PICKLE_UNSAFE_GLOBAL`.
   * `'record'`: unknown classes become inert `PyObject` records (old `torch.save(model)` files).
   * Nothing is executed either way.
   */
  readonly unknownClasses?: 'error' | 'record';
  /** Verify zip CRC-32s (torch never does). */
  readonly verify?: boolean;
  /**
   * Opens a file next to the one being read, by its name relative to it (sharded indexes name
   * their shards this way). Names are validated first: no absolute paths, no `..`, no `\`.
   */
  readonly resolve?: (relativeName: string) => Promise<ByteSource>;
}

/**
 * A {@link Container} plus file-level metadata that is not part of the object graph.
 *
 * @example
 * ```ts
 * const c = await openContainer(src);
 * c.metadata?.get('format'); // safetensors __metadata__ entry, e.g. 'pt'
 * ```
 */
export interface FormatContainer extends Container {
  /**
   * safetensors: `__metadata__`; sharded: the index's `metadata` object; zip and TorchScript: the
   * metadata records (`version`, `byteorder`, and `format_version` / `storage_alignment` when
   * present); legacy and tar: `sys_info`.
   */
  readonly metadata: ReadonlyMap<string, unknown> | undefined;
}

/**
 * One checkpoint format.
 *
 * @example
 * ```ts
 * const head = await source.read(0, Math.min(HEAD_BYTES, source.size));
 * if (safetensorsFormat.test(head, source)) return safetensorsFormat.open(source, {});
 * ```
 */
export interface CheckpointFormatReader {
  readonly id: CheckpointFormat;
  /** Whether the file head looks like this format (magic bytes only; may be a false positive, never reads). */
  test(head: Uint8Array, source: ByteSource): boolean;
  /** Opens and validates the file; tensor data is not read. */
  open(source: ByteSource, options?: OpenOptions): Promise<FormatContainer>;
}

/**
 * Closes `source` when it has a `close()` (file sources do; in-memory ones do not).
 *
 * @example
 * ```ts
 * await closeSource(await fromFile('model.pt'));
 * ```
 */
export async function closeSource(source: ByteSource): Promise<void> {
  const close = (source as { close?: unknown }).close;
  if (typeof close === 'function') await (close as () => Promise<void>).call(source);
}

/**
 * `PK\x03\x04`: torch sniffs exactly these four bytes at the start (research/pytorch-format.md §0.2).
 *
 * @example
 * ```ts
 * startsWith(head, ZIP_MAGIC); // a torch zip or TorchScript archive
 * ```
 */
export const ZIP_MAGIC: readonly number[] = [0x50, 0x4b, 0x03, 0x04];

/**
 * Whether `bytes` starts with `magic`.
 *
 * @example
 * ```ts
 * startsWith(head, [0x50, 0x4b, 0x03, 0x04]); // a zip local file header
 * ```
 */
export function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

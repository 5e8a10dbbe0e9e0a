/**
 * What every format module provides, and the options they share. A format is an object
 * `{ id, test, open }`: `test` looks at the first {@link HEAD_BYTES} bytes only (cheap magic-byte
 * checks, nothing parsed), `open` validates the file and returns a {@link FormatContainer}.
 *
 * @module
 */
import type { CheckpointFormat, Container } from './container.js';
import type { ReadContext, ReadOptions } from '../read-context.js';
import type { ByteSource } from '../source.js';

/** Bytes of the file head handed to {@link CheckpointFormatReader.test} (a tar header is 512). */
export const HEAD_BYTES = 512;

/**
 * Options of `openContainer`: {@link ReadOptions} and `resolve`, which opens a file next to the
 * one being read (sharded indexes name their shards this way).
 */
export interface OpenOptions extends ReadOptions, Pick<ReadContext, 'resolve'> {}

/** A {@link Container} plus file-level metadata that is not part of the object graph. */
export interface FormatContainer extends Container {
  /**
   * safetensors: `__metadata__`; sharded: the index's `metadata` object; zip and TorchScript: the
   * metadata records (`version`, `byteorder`, and `format_version` / `storage_alignment` when
   * present); legacy and tar: `sys_info`.
   */
  readonly metadata: ReadonlyMap<string, unknown> | undefined;
}

/** One checkpoint format. */
export interface CheckpointFormatReader {
  readonly id: CheckpointFormat;
  /** Whether the file head looks like this format (magic bytes only; may be a false positive, never reads). */
  test(head: Uint8Array, source: ByteSource): boolean;
  /** Opens and validates the file; tensor data is not read. */
  open(source: ByteSource, ctx: ReadContext): Promise<FormatContainer>;
}

/** Closes `source` when it has a `close()` (file sources do; in-memory ones do not). */
export async function closeSource(source: ByteSource): Promise<void> {
  const close = (source as { close?: unknown }).close;
  if (typeof close === 'function') await (close as () => Promise<void>).call(source);
}

/** `PK\x03\x04`: torch sniffs exactly these four bytes at the start (`_is_zipfile` in torch/serialization.py). */
export const ZIP_MAGIC: readonly number[] = [0x50, 0x4b, 0x03, 0x04];

/** Whether `bytes` starts with `magic`. */
export function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

/**
 * `openContainer`: recognises a checkpoint by its first bytes and opens it: torch zip
 * (`PK\x03\x04` at byte 0; TorchScript when the archive has `constants.pkl`, as `torch.load`
 * dispatches), tar (`ustar` at byte 257), safetensors (a fitting u64 header length then `{`),
 * legacy stream (a pickle `PROTO` byte that does not start a safetensors head), sharded index (a
 * JSON object). The tests are disjoint (`heads.ts`), so no format wins by being tried first.
 * Anything else fails with `UNSUPPORTED_FORMAT` naming what the head looks like.
 *
 * @module
 */
import { readContext, type ReadContext } from '../read-context.js';
import type { ByteSource } from '../source.js';
import type { CheckpointFormatReader, FormatContainer, OpenOptions } from './format-reader.js';
import { legacyFormat } from './legacy/reader.js';
import { probe } from './probe.js';
import { safetensorsFormat } from './safetensors/reader.js';
import { shardedFormat } from './sharded/reader.js';
import { tarFormat } from './legacy/tar.js';
import { torchZipFormat } from './torch-zip/reader.js';

/** The formats `openContainer` recognises (their order does not matter). */
export const CONTAINER_FORMATS: readonly CheckpointFormatReader[] = Object.freeze([
  torchZipFormat,
  tarFormat,
  safetensorsFormat,
  legacyFormat,
  shardedFormat,
]);

/**
 * Opens a checkpoint of any supported format; tensor data is not read.
 *
 * @example
 * ```ts
 * const c = await openContainer(fromBytes(bytes));
 * for (const e of c.entries) console.log(e.name, e.dtype, e.shape, e.location);
 * await c.close();
 * ```
 */
export function openContainer(source: ByteSource, options: OpenOptions = {}): Promise<FormatContainer> {
  return openFormat(source, readContext(options));
}

/** {@link openContainer} with the options resolved. */
export function openFormat(source: ByteSource, ctx: ReadContext): Promise<FormatContainer> {
  return probe(source, CONTAINER_FORMATS, ctx);
}

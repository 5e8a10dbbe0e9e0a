/**
 * `torch.save` for the values `load()` returns: TF.js tensors (read back through their backend and
 * written in their original torch dtype), raw tensors (bits, storages and views kept, so shared
 * storages stay shared), and the Python containers of values.ts. Writes to a {@link ByteSink};
 * the Node entry adds file paths (node/save.ts).
 *
 * @module
 */

import type { StorageRef } from '../../pickle/values.js';
import { prepareValue, type PrepareOptions } from '../../tensors/prepare.js';
import type { ByteSink } from '../../zip/writer.js';
import { writeTorchZip, type TorchZipLayout, type WriteTorchZipResult } from './writer.js';

/** Options of {@link save}. */
export interface SaveOptions extends PrepareOptions {
  /** Archive directory name; `archive` (torch's choice for file objects) by default. */
  readonly prefix?: string;
  /** Record layout of the torch generation to imitate: `'2.7'` (torch 2.13's default, the default here) or `'1.13'` for old consumers. */
  readonly layout?: TorchZipLayout;
  /**
   * `.data/serialization_id` (40 digits, `'2.7'` layout): pass a loaded file's
   * `metadata.get('serialization_id')` to write its bytes again.
   */
  readonly serializationId?: string;
  /** The location written for each storage; overrides `keepLocations` (e.g. a `map_location` rewrite). */
  readonly location?: (storage: StorageRef) => string;
}

/**
 * Writes `value` as `torch.save` (torch 1.13, zip format) would write the equivalent Python object:
 * the pickle, each storage once (read only when its record is written, so peak memory is one
 * storage), every location `cpu` unless `keepLocations`. Returns what {@link writeTorchZip} wrote.
 *
 * @example
 * ```ts
 * const sink = memorySink();
 * await save(new Map([['w', tf.tensor([1, 2])]]), sink);
 * // sink.bytes() is what torch.save({'w': torch.tensor([1., 2.])}, io.BytesIO()) writes
 * ```
 */
export async function save(value: unknown, sink: ByteSink, options: SaveOptions = {}): Promise<WriteTorchZipResult> {
  const prepared = prepareValue(value, options);
  return writeTorchZip(prepared.value, sink, {
    storageBytes: prepared.storageBytes,
    location: options.location ?? (options.keepLocations === true ? (s) => s.location : () => 'cpu'),
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    ...(options.layout === undefined ? {} : { layout: options.layout }),
    ...(options.serializationId === undefined ? {} : { serializationId: options.serializationId }),
  });
}

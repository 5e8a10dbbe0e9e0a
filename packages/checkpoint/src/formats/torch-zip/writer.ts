/**
 * `torch.save`'s zip format: the pickle, then each storage once, then the metadata records, in the
 * order of the chosen torch generation (`_save` in torch/serialization.py, `PyTorchStreamWriter` in
 * caffe2/serialize/inline_container.cc).
 *
 * @module
 */

import { quote } from '@x/device';
import { CheckpointError } from '../../errors.js';
import { pickle, type PickledStorage, type PickleOptions } from '../../pickle/pickler.js';
import type { StorageRef } from '../../pickle/values.js';
import { serializationId, type WrittenRecord } from './serialization-id.js';
import { ZipWriter, type ByteSink, type ChunkedData } from '../../zip/writer.js';

/**
 * Record layout:
 * - `'1.13'` (torch 1.6–2.0): `data.pkl`, `data/<key>` in lexicographic key order, `version`;
 * - `'2.7'` (torch ≥ 2.7, what torch 2.13 writes by default): `data.pkl`, `.format_version`,
 *   `.storage_alignment`, `byteorder`, `data/<key>` in numeric order, `version`,
 *   `.data/serialization_id` (computed as torch computes it, or the one given).
 */
export type TorchZipLayout = '1.13' | '2.7';

/** Options of {@link writeTorchZip}. */
export interface WriteTorchZipOptions extends PickleOptions {
  /** Archive directory name: `archive` (torch's choice for file objects) or the file stem. */
  readonly prefix?: string;
  /**
   * The whole storage's bytes, little-endian, `storage.byteLength` long (in chunks for storages
   * over 4 GiB); called once per storage, just before its record is written.
   */
  readonly storageBytes: (storage: StorageRef) => Promise<Uint8Array | ChunkedData> | Uint8Array | ChunkedData;
  /** Default `'2.7'` (torch 2.13's layout); `'1.13'` for consumers older than torch 2.1. */
  readonly layout?: TorchZipLayout;
  /** Data alignment; only the `'2.7'` layout records it and lets it differ from 64. */
  readonly alignment?: number;
  /**
   * 40 ASCII digits for `.data/serialization_id` (`'2.7'` layout only), e.g. a loaded file's, to
   * write its bytes again; by default the id torch would compute for these records
   * (serialization-id.ts; omitted for archives too large for that).
   */
  readonly serializationId?: string;
}

/** What {@link writeTorchZip} wrote. */
export interface WriteTorchZipResult {
  /** Storages written, keyed as in the pickle, in first-encounter order. */
  readonly storages: readonly PickledStorage[];
  /** Total archive size in bytes. */
  readonly size: number;
}

const ascii = new TextEncoder();

/**
 * Pickles `value` and writes the whole torch zip archive to `sink`, reading each storage's bytes
 * only when its record is written, so peak memory is the pickle plus one storage.
 *
 * @example
 * ```ts
 * const mem = memorySink();
 * await writeTorchZip(stateDict, mem, { prefix: 'model', storageBytes: (s) => buffers.get(s)! });
 * // mem.bytes() is what torch.save(state_dict, 'model.pt') writes
 * ```
 */
export async function writeTorchZip(
  value: unknown,
  sink: ByteSink,
  options: WriteTorchZipOptions,
): Promise<WriteTorchZipResult> {
  const layout = options.layout ?? '2.7';
  const alignment = options.alignment ?? 64;
  if (layout === '1.13' && alignment !== 64) {
    throw new CheckpointError(
      'ARCHIVE_LAYOUT',
      `the 1.13 layout always aligns to 64 bytes, got alignment ${alignment}`,
    );
  }
  if (options.serializationId !== undefined && (layout !== '2.7' || !/^[0-9]{40}$/.test(options.serializationId))) {
    throw new CheckpointError('ARCHIVE_LAYOUT', 'serializationId needs the 2.7 layout and exactly 40 ASCII digits');
  }
  const prefix = options.prefix ?? 'archive';
  if (prefix === '' || prefix.includes('/')) {
    throw new CheckpointError('ARCHIVE_LAYOUT', `prefix must be a non-empty name without '/', got ${quote(prefix)}`);
  }
  const { bytes, storages } = pickle(value, { ...options, sparseAs113: options.sparseAs113 ?? layout === '1.13' });
  const zip = new ZipWriter(sink, { alignment });
  const written: WrittenRecord[] = [];
  const record = async (name: string, data: Uint8Array | ChunkedData): Promise<void> => {
    written.push({
      name,
      crc: await zip.add(`${prefix}/${name}`, data),
      size: data instanceof Uint8Array ? data.length : data.size,
    });
  };

  await record('data.pkl', bytes);
  if (layout === '2.7') {
    await record('.format_version', ascii.encode('1'));
    await record('.storage_alignment', ascii.encode(String(alignment)));
    await record('byteorder', ascii.encode('little'));
  }
  const ordered =
    layout === '1.13' ? [...storages].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) : storages;
  for (const { key, storage } of ordered) {
    const data = await options.storageBytes(storage);
    const size = data instanceof Uint8Array ? data.length : data.size;
    if (size !== storage.byteLength) {
      throw new CheckpointError(
        'STORAGE_SIZE_MISMATCH',
        `storage ${key} should be ${storage.byteLength} bytes (its byteLength), storageBytes gave ${size}`,
        {
          entry: `data/${key}`,
        },
      );
    }
    await record(`data/${key}`, data);
  }
  await record('version', ascii.encode('3\n'));
  if (layout === '2.7') {
    const id = options.serializationId ?? serializationId(written);
    if (id !== undefined) await record('.data/serialization_id', ascii.encode(id));
  }
  await zip.finish();
  return { storages, size: zip.size };
}

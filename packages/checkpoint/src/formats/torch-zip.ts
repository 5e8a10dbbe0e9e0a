/**
 * The zip format of `torch.save` (≥ 1.6; research/pytorch-format.md §1–§3): `data.pkl` with
 * persistent ids `('storage', type, key, location, numel)`, one `data/<key>` record per storage.
 * As `torch.load` does, an archive with a `constants.pkl` record is read as TorchScript.
 *
 * @module
 */
import { resolveLimits } from '../limits.js';
import { createStorageTable } from '../pickle/storage.js';
import type { ByteSource } from '../source.js';
import { openZip, type ZipArchive } from '../zip/archive.js';
import { closeSource, startsWith, ZIP_MAGIC, type CheckpointFormatReader, type FormatContainer, type OpenOptions } from './format-reader.js';
import { makeContainer } from './make-container.js';
import { openTorchScriptArchive } from './torchscript.js';
import { readArchiveRecords, readPickleRecord, recordsMetadata, storageRecords } from './zip-records.js';

/**
 * The torch zip reader.
 *
 * @example
 * ```ts
 * const c = await torchZipFormat.open(fromBytes(bytes));
 * c.tensors.map((t) => t.name); // ['weight', 'bias']
 * ```
 */
export const torchZipFormat = {
  id: 'zip',
  test: (head: Uint8Array) => startsWith(head, ZIP_MAGIC),
  async open(source: ByteSource, options: OpenOptions = {}): Promise<FormatContainer> {
    const zip = await openZip(source, { limits: options.limits, verify: options.verify });
    return zip.entries.has('constants.pkl') ? openTorchScriptArchive(zip, options) : openTorchArchive(zip, options);
  },
} as const satisfies CheckpointFormatReader;

/**
 * Reads an opened `torch.save` archive: metadata records, `data.pkl`, and every storage record
 * checked against its persistent id.
 *
 * @example
 * ```ts
 * const c = await openTorchArchive(await openZip(source), {});
 * ```
 */
export async function openTorchArchive(zip: ZipArchive, options: OpenOptions): Promise<FormatContainer> {
  const limits = resolveLimits(options.limits);
  const records = await readArchiveRecords(zip);
  const table = createStorageTable();
  const root = await readPickleRecord(zip, 'data.pkl', limits, { persistentLoad: table.persistentLoad, unknownClasses: options.unknownClasses ?? 'error' });
  const read = storageRecords(zip, 'data', table.storages.values(), records.byteorder);
  return makeContainer({ format: 'zip', root, limits, metadata: recordsMetadata(records), read, close: () => closeSource(zip.source) });
}

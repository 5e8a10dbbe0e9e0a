/**
 * The zip format of `torch.save` (≥ 1.6; torch/serialization.py `_save` / `_load`): `data.pkl` with
 * persistent ids `('storage', type, key, location, numel)`, one `data/<key>` record per storage.
 * As `torch.load` does, an archive with a `constants.pkl` record is read as TorchScript.
 *
 * @module
 */
import { createStorageTable } from '../../pickle/storage.js';
import type { ByteSource } from '../../source.js';
import type { ReadContext } from '../../read-context.js';
import { openArchive, type ZipArchive } from '../../zip/archive.js';
import {
  closeSource,
  startsWith,
  ZIP_MAGIC,
  type CheckpointFormatReader,
  type FormatContainer,
} from '../format-reader.js';
import { makeContainer } from '../make-container.js';
import { openTorchScriptArchive } from '../torchscript/reader.js';
import { readArchiveRecords, readPickleRecord, recordsMetadata, storageRecords } from './records.js';

/** The torch zip reader. */
export const torchZipFormat = {
  id: 'zip',
  test: (head: Uint8Array) => startsWith(head, ZIP_MAGIC),
  async open(source: ByteSource, ctx: ReadContext): Promise<FormatContainer> {
    const zip = await openArchive(source, ctx);
    return zip.entries.has('constants.pkl') ? openTorchScriptArchive(zip, ctx) : openTorchArchive(zip, ctx);
  },
} as const satisfies CheckpointFormatReader;

/**
 * Reads an opened `torch.save` archive: metadata records, `data.pkl`, and every storage record
 * checked against its persistent id.
 */
export async function openTorchArchive(zip: ZipArchive, ctx: ReadContext): Promise<FormatContainer> {
  const { limits } = ctx;
  const records = await readArchiveRecords(zip);
  const table = createStorageTable();
  const root = await readPickleRecord(zip, 'data.pkl', {
    limits,
    persistentLoad: table.persistentLoad,
    unknownClasses: ctx.unknownClasses,
  });
  const read = storageRecords(zip, 'data', table.storages.values(), records.byteorder);
  return makeContainer({
    format: 'zip',
    root,
    limits,
    metadata: recordsMetadata(records),
    read,
    close: () => closeSource(zip.source),
  });
}

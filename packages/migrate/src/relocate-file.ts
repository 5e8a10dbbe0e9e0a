/**
 * {@link relocateSource} between files (Node): written aside, then renamed into place.
 *
 * @module
 */

import type { MapLocation } from '@x/device';
import { MigrateError, printable } from './errors.js';
import { relocateSource, type RelocateOptions, type RelocateReport } from './relocate.js';

/**
 * Rewrites the saved locations of the checkpoint at `input` into a new file at `output`, so that
 * a plain `torch.load(output)` restores each storage where `mapLocation` says (torch's rules:
 * `'cpu'`, `{ 'cuda:1': 'cpu' }`, a function, or `undefined` to keep them). No tensor is read into
 * memory: storage records are copied in chunks. The result is written to a temporary file in the
 * output's directory and renamed over `output` only when complete; on any failure the temporary
 * file is removed, no output appears, and the input is never written.
 *
 * @throws MigrateError `RELOCATE_SAME_FILE` when `output` is the input, `RELOCATE_UNSUPPORTED`;
 *   CheckpointError for unreadable input (`SOURCE_IO`) or a malformed file.
 * @example
 * ```ts
 * const report = await relocateCheckpoint('model-gpu.pt', 'model-cpu.pt', 'cpu');
 * report.changed; // storages whose tag changed
 * ```
 */
export async function relocateCheckpoint(
  input: string,
  output: string,
  mapLocation: MapLocation | undefined,
  options: RelocateOptions = {},
): Promise<RelocateReport> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const { fromFile } = await import('@x/checkpoint');
  const source = await fromFile(input);
  let temp: string | undefined;
  try {
    const inputReal = await fs.realpath(input);
    const outputReal = await fs.realpath(output).catch(() => path.resolve(output));
    if (inputReal === outputReal) {
      throw new MigrateError('RELOCATE_SAME_FILE', `the output ${printable(output)} is the input file; write to a new path`, { input, output });
    }
    temp = path.join(path.dirname(path.resolve(output)), `.${path.basename(output)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    const handle = await fs.open(temp, 'wx');
    let report: RelocateReport;
    try {
      report = await relocateSource(source, { write: (chunk) => writeAll(handle, chunk) }, mapLocation, options);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, output);
    temp = undefined;
    return report;
  } finally {
    await source.close();
    if (temp !== undefined) await fs.rm(temp, { force: true });
  }
}

async function writeAll(handle: { write(b: Uint8Array, o: number, l: number): Promise<{ bytesWritten: number }> }, chunk: Uint8Array): Promise<void> {
  for (let done = 0; done < chunk.length; ) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
}

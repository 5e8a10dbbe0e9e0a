/**
 * {@link relocateSource} between files (Node): written aside, then renamed into place.
 *
 * @module
 */

import { quote, type MapLocation } from '@x/device';
import { MigrateError } from '../errors.js';
import { relocateSource, type RelocateOptions, type RelocateReport } from './relocate.js';

/**
 * Rewrites the saved locations of the checkpoint at `input` into a new file at `output`, so that
 * a plain `torch.load(output)` restores each storage where `mapLocation` says (torch's rules:
 * `'cpu'`, `{ 'cuda:1': 'cpu' }`, a function, or `undefined` to keep them). No tensor is read into
 * memory: storage records are copied in chunks. The result is written with `writeFileAtomic` of
 * `@x/checkpoint` (a temporary file beside `output`, renamed over it only when complete); on any
 * failure no output appears, and the input is never written.
 *
 * @throws MigrateError `RELOCATE_SAME_FILE` when `output` is the input, `RELOCATE_UNSUPPORTED`;
 *   CheckpointError for unreadable input (`SOURCE_IO`), a malformed file, or a failed write
 *   (`OUTPUT_IO`).
 */
export async function relocateCheckpoint(
  input: string,
  output: string,
  mapLocation: MapLocation | undefined,
  options: RelocateOptions = {},
): Promise<RelocateReport> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const { fromFile, writeFileAtomic } = await import('@x/checkpoint');
  const source = await fromFile(input);
  try {
    const inputReal = await fs.realpath(input);
    const outputReal = await fs.realpath(output).catch(() => path.resolve(output));
    if (inputReal === outputReal) {
      throw new MigrateError(
        'RELOCATE_SAME_FILE',
        `the output ${quote(output, '')} is the input file; write to a new path`,
        { input, output },
      );
    }
    return await writeFileAtomic(output, (sink) => relocateSource(source, sink, mapLocation, options));
  } finally {
    await source.close();
  }
}

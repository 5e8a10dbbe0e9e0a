/**
 * Choosing a format from the file head: the one reader whose magic-byte `test` accepts the head
 * opens the file. The tests are disjoint (`heads.ts` says why), so the order readers are listed
 * in never matters; a head that two accept is refused rather than guessed, and there is no
 * fallback to another reader when opening fails (a file that looks like one format and is broken
 * must not be read as another). When none accepts it, `UNSUPPORTED_FORMAT` names what the head
 * looks like.
 *
 * @module
 */
import { CheckpointError } from '../errors.js';
import type { ReadContext } from '../read-context.js';
import type { ByteSource } from '../source.js';
import {
  HEAD_BYTES,
  startsWith,
  ZIP_MAGIC,
  type CheckpointFormatReader,
  type FormatContainer,
} from './format-reader.js';

/** Known magic numbers of files that are not checkpoints, for the error message. */
const FOREIGN: readonly (readonly [magic: readonly number[], what: string])[] = [
  [[0x50, 0x4b, 0x05, 0x06], 'an empty zip archive'],
  [
    [0x50, 0x59, 0x54, 0x4f, 0x52, 0x43, 0x48, 0x31],
    'an archive from the PyTorch preview release (PYTORCH1), which torch cannot read either',
  ],
  [[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], 'a 7z archive'],
  [[0x1f, 0x8b], 'gzip data'],
  [[0x42, 0x5a, 0x68], 'bzip2 data'],
  [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz data'],
  [[0x28, 0xb5, 0x2f, 0xfd], 'zstd data'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0x89, 0x48, 0x44, 0x46], 'an HDF5 file (Keras .h5?)'],
  [[0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], 'a NumPy .npy array'],
  [[0x47, 0x47, 0x55, 0x46], 'a GGUF model'],
];

/** Says what a head that no format accepted looks like (never echoes more than its first 4 bytes). */
export function describeHead(head: Uint8Array, size: number): string {
  if (size === 0) return 'an empty file';
  const known = FOREIGN.find(([magic]) => startsWith(head, magic));
  if (known !== undefined) return known[1];
  const zipAt = indexOf(head, ZIP_MAGIC);
  if (zipAt > 0) return `${zipAt} bytes before a zip archive (torch reads a zip only when it starts at byte 0)`;
  const hex = [...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `unrecognised first bytes ${hex}`;
}

function indexOf(bytes: Uint8Array, needle: readonly number[]): number {
  for (let i = 0; i + needle.length <= bytes.length; i++) if (needle.every((b, k) => bytes[i + k] === b)) return i;
  return -1;
}

/**
 * Opens `source` with the one of `formats` whose `test` accepts its head; `UNSUPPORTED_FORMAT`
 * when none does, or when several do (`details.candidates`).
 */
export async function probe(
  source: ByteSource,
  formats: readonly CheckpointFormatReader[],
  ctx: ReadContext,
): Promise<FormatContainer> {
  const head = await source.read(0, Math.min(HEAD_BYTES, source.size));
  const accepting = formats.filter((f) => f.test(head, source));
  if (accepting.length > 1) {
    const candidates = accepting.map((f) => f.id);
    throw new CheckpointError(
      'UNSUPPORTED_FORMAT',
      `the file head fits more than one format (${candidates.join(', ')}); refusing to guess`,
      {
        offset: 0,
        details: { candidates, size: source.size },
      },
    );
  }
  const format = accepting[0];
  if (format === undefined) {
    const expected = formats.map((f) => f.id).join(', ');
    throw new CheckpointError(
      'UNSUPPORTED_FORMAT',
      `not a checkpoint this reader knows (${expected}): found ${describeHead(head, source.size)}`,
      {
        offset: 0,
        details: { seen: describeHead(head, source.size), size: source.size },
      },
    );
  }
  return format.open(source, ctx);
}

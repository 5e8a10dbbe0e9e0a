/**
 * Bounded raw-deflate decompression with the platform's `DecompressionStream('deflate-raw')`
 * (Node 20, browsers). Compressed bytes are pulled from the source in chunks; output beyond the
 * declared size stops the stream at once.
 *
 * @module
 */
import { CheckpointError, type ErrorWhere } from '../errors.js';
import type { ByteSource } from '../source.js';

/** Compressed bytes read from the source per pull. */
const CHUNK = 1 << 20;

/**
 * Inflates the raw-deflate stream stored at `[start, start + compressedSize)` of `source` into
 * exactly `size` bytes. More output than `size` is `ZIP_SIZE_MISMATCH` (detected within one
 * output chunk, never buffered), less is `ZIP_SIZE_MISMATCH`, invalid deflate data is
 * `ZIP_CORRUPT_DATA`.
 */
export async function inflateRaw(
  source: ByteSource,
  start: number,
  compressedSize: number,
  size: number,
  where: ErrorWhere,
): Promise<Uint8Array> {
  let pos = start;
  const end = start + compressedSize;
  const input = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pos >= end) {
        controller.close();
        return;
      }
      const n = Math.min(CHUNK, end - pos);
      const chunk = await source.read(pos, n);
      pos += n;
      controller.enqueue(chunk);
    },
  });
  const out = new Uint8Array(size);
  let filled = 0;
  const reader = input
    .pipeThrough(new DecompressionStream('deflate-raw') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>)
    .getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (filled + value.length > size) {
        await reader.cancel();
        throw new CheckpointError(
          'ZIP_SIZE_MISMATCH',
          `deflated data inflates to more than the declared ${size} bytes`,
          {
            ...where,
            details: { declared: size },
          },
        );
      }
      out.set(value, filled);
      filled += value.length;
    }
  } catch (cause) {
    if (cause instanceof CheckpointError) throw cause;
    throw new CheckpointError('ZIP_CORRUPT_DATA', `deflated data is corrupt: ${String(cause).slice(0, 120)}`, {
      ...where,
      cause,
    });
  }
  if (filled !== size) {
    throw new CheckpointError(
      'ZIP_SIZE_MISMATCH',
      `deflated data inflates to ${filled} bytes, the directory declares ${size}`,
      {
        ...where,
        details: { declared: size, actual: filled },
      },
    );
  }
  return out;
}

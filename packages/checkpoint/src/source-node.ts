/**
 * File sources for Node: positional reads through one `FileHandle`, so files larger than 2 GiB
 * work and only the requested bytes are in memory (never `readFile`).
 *
 * @module
 */
import { open } from 'node:fs/promises';
import { CheckpointError, quote } from './errors.js';
import { checkRange, type ByteSource } from './source.js';

/**
 * A {@link ByteSource} over an open file; call `close()` when done.
 *
 * @example
 * ```ts
 * const src: FileSource = await fromFile('model.pt'); await src.close();
 * ```
 */
export interface FileSource extends ByteSource {
  /** Closes the file handle; later reads fail with `SOURCE_IO`. */
  close(): Promise<void>;
}

/** Largest single `FileHandle.read` (Node refuses reads above 2 GiB − 1). */
const MAX_CHUNK = 2 ** 30;

/**
 * Opens `path` for positional reads. Every `read(offset, length)` allocates exactly `length`
 * bytes and fills them with `FileHandle.read` at explicit positions; `readInto(target, offset)`
 * fills the caller's `target` the same way, without allocating.
 *
 * @example
 * ```ts
 * const src = await fromFile('model.pt');
 * try { const tail = await src.read(src.size - 22, 22); } finally { await src.close(); }
 * ```
 */
export async function fromFile(path: string | URL): Promise<FileSource> {
  const name = String(path);
  let handle: Awaited<ReturnType<typeof open>>;
  let size: number;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new CheckpointError('SOURCE_IO', `cannot open ${quote(name)}: ${ioReason(cause)}`, { cause });
  }
  try {
    size = (await handle.stat()).size;
  } catch (cause) {
    await handle.close();
    throw new CheckpointError('SOURCE_IO', `cannot stat ${quote(name)}: ${ioReason(cause)}`, { cause });
  }
  let closed = false;
  /** Positional reads of `target.length` bytes at `offset` into `target`, in chunks Node accepts. */
  const fill = async (target: Uint8Array, offset: number): Promise<void> => {
    const length = target.length;
    checkRange(size, offset, length);
    if (closed) throw new CheckpointError('SOURCE_IO', `${quote(name)} is closed`, { offset });
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(target, done, Math.min(MAX_CHUNK, length - done), offset + done));
      } catch (cause) {
        throw new CheckpointError('SOURCE_IO', `reading ${quote(name)} failed: ${ioReason(cause)}`, { offset: offset + done, cause });
      }
      if (bytesRead === 0) {
        throw new CheckpointError('INPUT_TRUNCATED', `${quote(name)} ended at byte ${offset + done}, expected ${length - done} more bytes (was it truncated while open?)`, {
          offset: offset + done,
        });
      }
      done += bytesRead;
    }
  };
  return {
    size,
    name,
    async read(offset, length) {
      checkRange(size, offset, length);
      const out = new Uint8Array(length);
      await fill(out, offset);
      return out;
    },
    readInto: fill,
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

function ioReason(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : String(cause).slice(0, 120);
}

/**
 * File sources for Node: positional reads through one `FileHandle`, so files larger than 2 GiB
 * work and only the requested bytes are in memory (never `readFile`); with the `@x/mmap` addon,
 * large ranges are private memory mappings instead (no copy; pages are read when touched).
 *
 * @module
 */
import { closeSync, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { open } from 'node:fs/promises';
import { quote } from '@x/device';
import type { MmapBinding } from '@x/mmap';
import { CheckpointError } from '../errors.js';
import { checkRange, type ByteSource } from '../source.js';

/** A {@link ByteSource} over an open file; call `close()` when done. */
export interface FileSource extends ByteSource {
  /**
   * How `read` delivers large ranges: `'mmap'`, views over private mappings of the file (no
   * copy), or `'read'`, positional reads into new buffers.
   */
  readonly io: 'mmap' | 'read';
  /** Closes the file handle; later reads fail with `SOURCE_IO`. Mapped views stay valid. */
  close(): Promise<void>;
}

/** Options of {@link fromFile}. */
export interface FileSourceOptions {
  /**
   * Map large ranges instead of copying them (default `true`; used when the `@x/mmap` addon is
   * installed and built, else positional reads).
   */
  readonly mmap?: boolean;
  /**
   * With `mmap`: reads shorter than this are copied, not mapped (default 64 KiB: zip headers,
   * pickles and small tensors cost less to copy than to map).
   */
  readonly minMapBytes?: number;
}

/**
 * The `@x/mmap` addon (an optional dependency), or `undefined` where it is absent or not built;
 * loaded from when this module is imported, so that a first open does not wait for it.
 */
const mmapBinding: Promise<MmapBinding | undefined> = import('@x/mmap').then(
  (m) => m.loadMmap().binding,
  () => undefined,
);

/**
 * After this many mapped reads, a file is mapped in windows of {@link MAP_WINDOW} bytes that later
 * reads are views of: one mapping per tensor costs a system call and, in V8, a young-generation
 * collection per external buffer, which dominates reading many tensors; a few tensors are cheaper
 * mapped alone (a large external buffer makes V8 collect the whole heap).
 */
const WINDOWS_AFTER = 8;
/** Size of the windows (page-aligned; Node wraps at most 4 GiB in one ArrayBuffer). */
const MAP_WINDOW = 2 ** 30;

/** Largest single `FileHandle.read` (Node refuses reads above 2 GiB − 1). */
const MAX_CHUNK = 2 ** 30;

/**
 * Opens `path` for reading. Every `read(offset, length)` allocates exactly `length` bytes and
 * fills them with `FileHandle.read` at explicit positions; `readInto(target, offset)` fills the
 * caller's `target` the same way, without allocating. With `mmap` (the default where the
 * `@x/mmap` addon is built), a `read` of 64 KiB or more instead returns a view over a private,
 * copy-on-write mapping of that range (after eight such reads, of the 1 GiB window of the file
 * holding it): no bytes are copied, pages are read from the page cache when first touched, and
 * writes to the view never reach the file. A mapping lives as long as any
 * view of it (it is unmapped when the last one is garbage-collected), so `close()` and the
 * disposal of tensors over it may happen in any order.
 *
 * With `mmap`, every read (synchronous under the promise: small ones are `pread`s) first `fstat`s
 * the file through its open descriptor: a file truncated since it was opened fails with
 * `INPUT_TRUNCATED`, one otherwise modified (size or mtime changed) with `SOURCE_IO`, instead of
 * handing out views whose pages would fault (`SIGBUS`) when touched.
 */
export async function fromFile(path: string | URL, options: FileSourceOptions = {}): Promise<FileSource> {
  const name = String(path);
  const mmap = options.mmap === false ? undefined : await mmapBinding;
  if (mmap !== undefined) return mappedFile(path, name, mmap, Math.max(1, options.minMapBytes ?? 64 * 1024));
  let handle: Awaited<ReturnType<typeof open>>;
  let size: number;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw openError(name, cause);
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
        throw new CheckpointError('SOURCE_IO', `reading ${quote(name)} failed: ${ioReason(cause)}`, {
          offset: offset + done,
          cause,
        });
      }
      if (bytesRead === 0) throw endedEarly(name, offset + done, length - done);
      done += bytesRead;
    }
  };
  return {
    size,
    name,
    io: 'read',
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

/**
 * A file source over a descriptor and `binding`: reads of `minMapBytes` or more are views over new
 * mappings (of their range, or after {@link WINDOWS_AFTER} of them of a window), smaller ones synchronous `pread`s (no round trip through libuv's thread pool: opening
 * a checkpoint takes a few small reads); each checks first that the file is unchanged.
 */
function mappedFile(path: string | URL, name: string, binding: MmapBinding, minMapBytes: number): FileSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw openError(name, cause);
  }
  let opened: BigIntStats;
  try {
    opened = fstatSync(fd, { bigint: true });
  } catch (cause) {
    closeSync(fd);
    throw new CheckpointError('SOURCE_IO', `cannot stat ${quote(name)}: ${ioReason(cause)}`, { cause });
  }
  const size = Number(opened.size);
  let closed = false;
  let mappedReads = 0;
  /** Mappings of whole windows of the file, made on the first read inside each once reads are many. */
  const windows = new Map<number, Uint8Array>();
  const mapRange = (offset: number, length: number): Uint8Array => {
    let buffer: ArrayBuffer;
    try {
      buffer = binding.map(fd, offset, length);
    } catch (cause) {
      throw new CheckpointError('SOURCE_IO', `mapping ${quote(name)} failed: ${ioReason(cause)}`, { offset, cause });
    }
    return new Uint8Array(buffer, buffer.byteLength - length, length);
  };
  /** Checks that `[offset, offset + length)` may be read now: in range, open, the file unchanged. */
  const check = (offset: number, length: number): void => {
    checkRange(size, offset, length);
    if (closed) throw new CheckpointError('SOURCE_IO', `${quote(name)} is closed`, { offset });
    checkUnchanged(fd, opened, name, offset);
  };
  const fill = async (target: Uint8Array, offset: number): Promise<void> => {
    check(offset, target.length);
    let done = 0;
    while (done < target.length) {
      let n: number;
      try {
        n = readSync(fd, target, done, Math.min(MAX_CHUNK, target.length - done), offset + done);
      } catch (cause) {
        throw new CheckpointError('SOURCE_IO', `reading ${quote(name)} failed: ${ioReason(cause)}`, {
          offset: offset + done,
          cause,
        });
      }
      if (n === 0) throw endedEarly(name, offset + done, target.length - done);
      done += n;
    }
  };
  return {
    size,
    name,
    io: 'mmap',
    async read(offset, length) {
      if (length < minMapBytes) {
        const out = new Uint8Array(length);
        await fill(out, offset);
        return out;
      }
      check(offset, length);
      const w = Math.floor(offset / MAP_WINDOW);
      if (++mappedReads > WINDOWS_AFTER && w === Math.floor((offset + length - 1) / MAP_WINDOW)) {
        let window = windows.get(w);
        if (window === undefined) {
          window = mapRange(w * MAP_WINDOW, Math.min(MAP_WINDOW, size - w * MAP_WINDOW));
          windows.set(w, window);
        }
        return window.subarray(offset - w * MAP_WINDOW, offset - w * MAP_WINDOW + length);
      }
      return mapRange(offset, length);
    },
    readInto: fill,
    async close() {
      if (closed) return;
      closed = true;
      windows.clear();
      closeSync(fd);
    },
  };
}

function openError(name: string, cause: unknown): CheckpointError {
  return new CheckpointError('SOURCE_IO', `cannot open ${quote(name)}: ${ioReason(cause)}`, { cause });
}

function endedEarly(name: string, at: number, missing: number): CheckpointError {
  return new CheckpointError(
    'INPUT_TRUNCATED',
    `${quote(name)} ended at byte ${at}, expected ${missing} more bytes (was it truncated while open?)`,
    { offset: at },
  );
}

/**
 * Throws unless the open file still has the size and modification time it had when opened: pages
 * of a mapping past a shrunken end raise `SIGBUS`, and a file rewritten in place mixes two files.
 */
function checkUnchanged(fd: number, opened: BigIntStats, name: string, offset: number): void {
  let now: BigIntStats;
  try {
    now = fstatSync(fd, { bigint: true });
  } catch (cause) {
    throw new CheckpointError('SOURCE_IO', `cannot stat ${quote(name)}: ${ioReason(cause)}`, { offset, cause });
  }
  const details = { size: Number(now.size), openedSize: Number(opened.size) };
  if (now.size < opened.size) {
    throw new CheckpointError(
      'INPUT_TRUNCATED',
      `${quote(name)} was truncated to ${now.size} bytes while open (it had ${opened.size})`,
      { offset, details },
    );
  }
  if (now.size !== opened.size || now.mtimeNs !== opened.mtimeNs) {
    throw new CheckpointError(
      'SOURCE_IO',
      `${quote(name)} was modified while open (size or modification time changed); open it again`,
      { offset, details },
    );
  }
}

function ioReason(cause: unknown): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : String(cause).slice(0, 120);
}

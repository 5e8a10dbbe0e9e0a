/**
 * Saving to files (Node only): the archive prefix from the file name as torch derives it, a
 * buffered {@link ByteSink} over a `FileHandle`, and atomic replacement (write `<dest>.tmp-<random>`,
 * then rename; the temporary file is removed on failure, so `dest` never holds a partial file, and
 * one a killed process left is removed by the next write to `dest`).
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quote } from '@x/device';
import { CheckpointError } from '../errors.js';
import { saveSafetensors as saveSafetensorsToSink, type SaveSafetensorsOptions } from '../formats/safetensors/save.js';
import type { SafetensorsHeader } from '../formats/safetensors/header.js';
import { save as saveToSink, type SaveOptions } from '../formats/torch-zip/save.js';
import type { WriteTorchZipResult } from '../formats/torch-zip/writer.js';
import type { ByteSink } from '../zip/writer.js';

/**
 * torch's archive prefix for a path: the base name after the last `/` or `\`, cut at its last `.`
 * (`PyTorchStreamWriter` in caffe2/serialize/inline_container.cc). An empty stem (`.hidden`) is
 * torch's "invalid file name".
 */
export function archivePrefix(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  const stem = dot === -1 ? base : base.slice(0, dot);
  if (stem === '')
    throw new CheckpointError(
      'ARCHIVE_LAYOUT',
      `invalid file name: ${quote(base)} (its stem, the archive prefix, is empty)`,
    );
  return stem;
}

/** Chunks below this size are gathered into one buffer before they reach the file. */
const SMALL = 1 << 16;
/** Size of the gathering buffer; also the largest piece one `write` call gets for big chunks. */
const BUFFER = 1 << 20;
const MAX_WRITE = 1 << 30;

/**
 * What {@link fileSink} needs of a `node:fs/promises` `FileHandle`, spelled out so the published
 * declarations do not need `@types/node`.
 */
export interface WritableFile {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
}

/**
 * A {@link ByteSink} writing sequentially to an open file: small chunks are gathered into a 1 MiB
 * buffer, large ones go straight to the file (in ≤ 1 GiB calls). Call `flush()` before closing.
 *
 * @example
 * ```ts
 * const fh = await open('model.pt', 'w');
 * const sink = fileSink(fh);
 * await save(value, sink);
 * await sink.flush();
 * await fh.close();
 * ```
 */
export function fileSink(handle: WritableFile): ByteSink & { flush(): Promise<void> } {
  const buffer = new Uint8Array(BUFFER);
  let used = 0;
  const writeAll = async (bytes: Uint8Array): Promise<void> => {
    for (let at = 0; at < bytes.length; ) {
      const { bytesWritten } = await handle.write(bytes, at, Math.min(MAX_WRITE, bytes.length - at));
      at += bytesWritten;
    }
  };
  const flush = async (): Promise<void> => {
    if (used === 0) return;
    const full = buffer.subarray(0, used);
    used = 0;
    await writeAll(full);
  };
  return {
    async write(chunk) {
      if (chunk.length >= SMALL) {
        await flush();
        await writeAll(chunk);
        return;
      }
      if (used + chunk.length > BUFFER) await flush();
      buffer.set(chunk, used);
      used += chunk.length;
    },
    flush,
  };
}

/** Our temporary names: `<base>.tmp-<12 hex digits>` beside the output. */
const TEMP_SUFFIX = /^\.tmp-[0-9a-f]{12}$/;

/** When this process started: temporary files older than this are left over from a killed write. */
const RUN_STARTED = Date.now() - process.uptime() * 1000;

/**
 * A write failure as `OUTPUT_IO`, naming the output path and the system's reason
 * (`ENOSPC: no space left on device`); errors that are not the system's pass through.
 */
function outputError(cause: unknown, dest: string, doing: string): unknown {
  const sys = cause as NodeJS.ErrnoException;
  if (!(cause instanceof Error) || typeof sys.code !== 'string' || !/^E[A-Z]+$/.test(sys.code)) return cause;
  const reason =
    sys.code === 'EISDIR'
      ? 'a directory is in the way'
      : sys.message.replace(/^E[A-Z]+: /, '').replace(/, \w+(?: '.*')?$/, '');
  const shown = dest.length > 64 ? `…${dest.slice(-63)}` : dest;
  return new CheckpointError('OUTPUT_IO', `cannot write ${quote(shown)} (${doing}): ${sys.code}: ${reason}`, {
    cause,
    details: { path: dest, errno: sys.code },
  });
}

/** Removes `<dest>.tmp-…` files a killed write left (ours by name, older than this process). */
async function removeStaleTemps(dest: string): Promise<void> {
  const dir = dirname(dest);
  const base = basename(dest);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(base) || !TEMP_SUFFIX.test(name.slice(base.length))) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() === true && info.mtimeMs < RUN_STARTED) await rm(path, { force: true });
  }
}

/**
 * Runs `write` against a sink over `<dest>.tmp-<random>` and renames the result to `dest` when it
 * succeeds; on failure the temporary file is removed and the error rethrown, so `dest` is either
 * the old file or the complete new one. Temporary files that an earlier, killed write to `dest`
 * left (`<dest>.tmp-` and 12 hex digits, older than this process) are removed first. A failure of
 * the file system (disk full, permission denied, a directory at `dest`) is `OUTPUT_IO`.
 *
 * @throws CheckpointError `OUTPUT_IO` naming `dest` and the system's reason; errors of `write` as they are.
 */
export async function writeFileAtomic<T>(dest: string, write: (sink: ByteSink) => Promise<T>): Promise<T> {
  await removeStaleTemps(dest);
  const temp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx');
  } catch (cause) {
    throw outputError(cause, dest, `creating ${basename(temp)}`);
  }
  try {
    const sink = fileSink(handle);
    const guarded: ByteSink = {
      write: (chunk) =>
        sink.write(chunk).catch((cause: unknown) => Promise.reject(outputError(cause, dest, 'writing'))),
    };
    const result = await write(guarded);
    await sink.flush().catch((cause: unknown) => Promise.reject(outputError(cause, dest, 'writing')));
    await handle.close().catch((cause: unknown) => Promise.reject(outputError(cause, dest, 'closing')));
    await rename(temp, dest).catch((cause: unknown) => Promise.reject(outputError(cause, dest, 'renaming into place')));
    return result;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * `torch.save(value, dest)`: `dest` a path (prefix = its stem, unless `options.prefix`; written
 * atomically, one storage in memory at a time) or a {@link ByteSink} (prefix `archive`).
 *
 * @example
 * ```ts
 * const { value } = await load('in.pt');
 * await save(value, 'out.pt'); // torch.load('out.pt') gives the same state dict, on cpu
 * ```
 */
export async function save(
  value: unknown,
  dest: string | URL | ByteSink,
  options: SaveOptions = {},
): Promise<WriteTorchZipResult> {
  if (typeof dest !== 'string' && !(dest instanceof URL)) return saveToSink(value, dest, options);
  const path = dest instanceof URL ? fileURLToPath(dest) : dest;
  const prefix = options.prefix ?? archivePrefix(path);
  return writeFileAtomic(path, (sink) => saveToSink(value, sink, { ...options, prefix }));
}

/** `saveSafetensors` to a path (written atomically, one tensor in memory at a time) or a {@link ByteSink}. */
export async function saveSafetensors(
  stateDict: unknown,
  dest: string | URL | ByteSink,
  options: SaveSafetensorsOptions = {},
): Promise<SafetensorsHeader> {
  if (typeof dest !== 'string' && !(dest instanceof URL)) return saveSafetensorsToSink(stateDict, dest, options);
  return writeFileAtomic(dest instanceof URL ? fileURLToPath(dest) : dest, (sink) =>
    saveSafetensorsToSink(stateDict, sink, options),
  );
}

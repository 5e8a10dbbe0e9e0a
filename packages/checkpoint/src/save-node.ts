/**
 * Saving to files (Node only): the archive prefix from the file name as torch derives it, a
 * buffered {@link ByteSink} over a `FileHandle`, and atomic replacement (write `<dest>.tmp-<random>`,
 * then rename; the temporary file is removed on failure, so `dest` never holds a partial file).
 *
 * @module
 */

import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CheckpointError, quote } from './errors.js';
import { saveSafetensors as saveSafetensorsToSink, type SaveSafetensorsOptions } from './save-safetensors.js';
import type { SafetensorsHeader } from './safetensors.js';
import { save as saveToSink, type SaveOptions } from './save.js';
import type { WriteTorchZipResult } from './torch-writer.js';
import type { ByteSink } from './zip-writer.js';

/**
 * torch's archive prefix for a path: the base name after the last `/` or `\`, cut at its last `.`
 * (research/pytorch-format.md §1.1). An empty stem (`.hidden`) is torch's "invalid file name".
 *
 * @example
 * ```ts
 * archivePrefix('runs/a.b.pt'); // 'a.b'
 * archivePrefix('noext');       // 'noext'
 * ```
 */
export function archivePrefix(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  const stem = dot === -1 ? base : base.slice(0, dot);
  if (stem === '') throw new CheckpointError('ARCHIVE_LAYOUT', `invalid file name: ${quote(base)} (its stem, the archive prefix, is empty)`);
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

/**
 * Runs `write` against a sink over `<dest>.tmp-<random>` and renames the result to `dest` when it
 * succeeds; on failure the temporary file is removed and the error rethrown.
 *
 * @example
 * ```ts
 * await writeFileAtomic('model.safetensors', (sink) => writeSafetensors(tensors, sink));
 * ```
 */
export async function writeFileAtomic<T>(dest: string, write: (sink: ByteSink) => Promise<T>): Promise<T> {
  const temp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx');
  } catch (cause) {
    throw new CheckpointError('SOURCE_IO', `cannot create ${quote(temp)}: ${(cause as Error).message.slice(0, 200)}`, { cause });
  }
  try {
    const sink = fileSink(handle);
    const result = await write(sink);
    await sink.flush();
    await handle.close();
    await rename(temp, dest);
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
export async function save(value: unknown, dest: string | URL | ByteSink, options: SaveOptions = {}): Promise<WriteTorchZipResult> {
  if (typeof dest !== 'string' && !(dest instanceof URL)) return saveToSink(value, dest, options);
  const path = dest instanceof URL ? fileURLToPath(dest) : dest;
  const prefix = options.prefix ?? archivePrefix(path);
  return writeFileAtomic(path, (sink) => saveToSink(value, sink, { ...options, prefix }));
}

/**
 * `saveSafetensors` to a path (written atomically, one tensor in memory at a time) or a {@link ByteSink}.
 *
 * @example
 * ```ts
 * await saveSafetensors(stateDict, 'model.safetensors', { metadata: { format: 'pt' } });
 * ```
 */
export async function saveSafetensors(stateDict: unknown, dest: string | URL | ByteSink, options: SaveSafetensorsOptions = {}): Promise<SafetensorsHeader> {
  if (typeof dest !== 'string' && !(dest instanceof URL)) return saveSafetensorsToSink(stateDict, dest, options);
  return writeFileAtomic(dest instanceof URL ? fileURLToPath(dest) : dest, (sink) => saveSafetensorsToSink(stateDict, sink, options));
}

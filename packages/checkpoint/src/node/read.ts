/**
 * The file-taking `open`, `load` and `inspect` of the Node entry, apart from its re-exports
 * (the writers, diff, shards), so that a caller that only reads — `x-checkpoint inspect` — loads
 * only the modules reading needs.
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerConverter } from '../tensors/convert-workers.js';
import { inspectCheckpoint, type InspectOptions, type InspectResult } from '../inspect.js';
import { checkLoadOptions } from '../load-arguments.js';
import { loadCheckpoint, type LoadResult } from '../load.js';
import {
  openResolved,
  resolveSource,
  type Checkpoint,
  type CheckpointSource,
  type LoadOptions,
  type ResolvedSource,
} from '../open.js';
import { weightsFile } from '../formats/model-directory.js';
import { fromFile } from './source.js';

/** The worker threads of every checkpoint opened through this entry (started on first use, idle ones `unref`'d). */
const converter = new WorkerConverter();

/**
 * A {@link ResolvedSource} for Node: a path or `file:` URL becomes a file source whose siblings
 * (sharded index shards) are files in the same directory; a directory (a Hugging Face
 * `save_pretrained` folder) becomes its weights file, chosen as transformers does
 * ({@link MODEL_WEIGHTS_FILES}); http(s) URLs, bytes and Blobs as in the browser. Files are mapped
 * unless `options.mmap` is `false` (see {@link fromFile}).
 */
export async function resolveNodeSource(
  input: CheckpointSource,
  options: Pick<LoadOptions, 'mmap'> = {},
): Promise<ResolvedSource> {
  let path: string | undefined;
  if (input instanceof URL && input.protocol === 'file:') path = fileURLToPath(input);
  else if (typeof input === 'string') {
    if (input.startsWith('file:')) path = fileURLToPath(input);
    else if (!/^https?:\/\//i.test(input)) path = input;
  }
  if (path === undefined) return resolveSource(input);
  path = await weightsFile(path);
  const dir = dirname(path);
  const mmap = { mmap: options.mmap ?? true };
  const file = await fromFile(path, mmap);
  return { source: file, resolve: (name) => fromFile(join(dir, name), mmap), close: () => file.close(), io: file.io };
}

/**
 * {@link open} of the isomorphic entry, plus file paths and `file:` URLs.
 *
 * @throws As the isomorphic `open`; a path that cannot be opened or read is `SOURCE_IO`.
 */
export async function open(source: CheckpointSource, options: LoadOptions = {}): Promise<Checkpoint> {
  checkLoadOptions(options);
  return openResolved(await resolveNodeSource(source, options), options, converter);
}

/**
 * {@link load} of the isomorphic entry, plus file paths and `file:` URLs: `torch.load` for TF.js.
 *
 * @throws As the isomorphic `load`; a path that cannot be opened or read is `SOURCE_IO`.
 */
export async function load<T = unknown>(source: CheckpointSource, options: LoadOptions = {}): Promise<LoadResult<T>> {
  return loadCheckpoint<T>(await open(source, options));
}

/** {@link inspect} of the isomorphic entry, plus file paths and `file:` URLs. */
export async function inspect(source: CheckpointSource, options: InspectOptions = {}): Promise<InspectResult> {
  return inspectCheckpoint(await open(source, options), options);
}

/**
 * Hugging Face model directories (Node only): the weights file of a folder written by
 * transformers' `save_pretrained`, chosen as transformers 5.18's `from_pretrained` chooses it for
 * a local directory (`modeling_utils._get_resolved_checkpoint_files`).
 *
 * @module
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CheckpointError } from '../errors.js';

/**
 * The files a model directory's weights are looked for in, in transformers' order:
 * `SAFE_WEIGHTS_NAME`, `SAFE_WEIGHTS_INDEX_NAME`, `WEIGHTS_NAME`, `WEIGHTS_INDEX_NAME`. The first
 * that is a file wins (a sharded index opens its shards next to it).
 */
export const MODEL_WEIGHTS_FILES: readonly string[] = Object.freeze([
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
]);

/**
 * The file to read for `path`: `path` itself unless it is a directory, else its weights file
 * (see {@link MODEL_WEIGHTS_FILES}). A directory holding none of them fails with
 * `UNSUPPORTED_FORMAT` naming the files looked for (`details.lookedFor`); a path that cannot be
 * examined is left to the file opener, which reports it.
 */
export async function weightsFile(path: string): Promise<string> {
  if (!isKind(path, 'directory')) return path;
  for (const name of MODEL_WEIGHTS_FILES) {
    const file = join(path, name);
    if (isKind(file, 'file')) return file;
  }
  throw new CheckpointError(
    'UNSUPPORTED_FORMAT',
    `this directory holds no model weights: looked for ${MODEL_WEIGHTS_FILES.join(', ')} (as transformers' from_pretrained does)`,
    {
      entry: path,
      details: { lookedFor: MODEL_WEIGHTS_FILES },
    },
  );
}

/**
 * Whether `path` is a directory / a regular file (after following links), as `os.path.isdir` /
 * `isfile`. A synchronous `stat`: one system call, where the promise API waits for a thread-pool
 * round trip on every open.
 */
function isKind(path: string, kind: 'directory' | 'file'): boolean {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s !== undefined && (kind === 'directory' ? s.isDirectory() : s.isFile());
  } catch {
    return false;
  }
}

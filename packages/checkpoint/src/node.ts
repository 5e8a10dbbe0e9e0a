/**
 * `@x/checkpoint` for Node: everything of the isomorphic entry plus file sources. `open`, `load`
 * and `inspect` here also take file paths and `file:` URLs (memory-mapped where the `@x/mmap`
 * addon is built and `mmap` is not `false`, else read with positional reads; never whole), open
 * the shards of a sharded index next to it, and take Hugging Face model directories
 * (`save_pretrained` output: single or sharded, safetensors or `.bin`). Large float16/bfloat16/int8/…
 * tensors are widened on worker threads (`convert-workers.ts`), overlapping the reads. The
 * internals, isomorphic, are in `@x/checkpoint/internal`.
 *
 * @packageDocumentation
 */

export * from './index.js';
export { fromFile } from './node/source.js';
export { MODEL_WEIGHTS_FILES, weightsFile } from './formats/model-directory.js';
export type { FileSource, FileSourceOptions } from './node/source.js';
export { save, saveSafetensors, writeFileAtomic } from './node/save.js';
export { saveSharded } from './node/save-sharded.js';
export type { SaveShardedOptions, ShardedResult } from './node/save-sharded.js';
export { inspect, load, open } from './node/read.js';

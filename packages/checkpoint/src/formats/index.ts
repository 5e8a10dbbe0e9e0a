/**
 * The format layer: one reader per checkpoint format and {@link openContainer}, which picks one.
 *
 * @module
 */
export { openContainer, CONTAINER_FORMATS } from './detect.js';
export { HEAD_BYTES } from './format-reader.js';
export type { CheckpointFormatReader, FormatContainer, OpenOptions } from './format-reader.js';
export { torchZipFormat } from './torch-zip.js';
export { torchScriptFormat } from './torchscript.js';
export { legacyFormat } from './legacy.js';
export { tarFormat } from './tar.js';
export { safetensorsFormat } from './safetensors-format.js';
export { shardedFormat } from './sharded.js';

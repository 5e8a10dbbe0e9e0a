/**
 * The format layer: {@link openContainer}, which picks the reader of a checkpoint's format.
 *
 * @module
 */
export { openContainer, openFormat } from './detect.js';
export type { FormatContainer, OpenOptions } from './format-reader.js';

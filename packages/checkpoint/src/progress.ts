/** What long reads and writes report as they go. @module */

/**
 * Progress of a `load` (after each tensor), an `inspect` (after each distinct tensor hashed) or a
 * `save` (as each storage is read for writing).
 */
export interface Progress {
  /** Storage bytes read so far. */
  readonly bytesDone: number;
  /** Storage bytes the operation reads in all (storages placed on `meta` are not read). */
  readonly bytesTotal: number;
  /** Tensors done so far (entries for `load`, distinct tensors for `inspect`, tensor leaves for `save`). */
  readonly tensorsDone: number;
  /** Tensors in all, counted as `tensorsDone` is. */
  readonly tensorsTotal: number;
}

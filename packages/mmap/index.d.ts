/**
 * Private, copy-on-write mappings of file ranges as ArrayBuffers: a small N-API addon, built from
 * source at install (node-gyp) where a C compiler and Node's headers are available.
 *
 * @packageDocumentation
 */

/** The addon's functions. */
export interface MmapBinding {
  /**
   * Maps bytes `[offset, offset + length)` of the open file `fd` (`MAP_PRIVATE`: writes through
   * a view stay in this process). The buffer starts at the page boundary at or below `offset`, so
   * the requested bytes begin at `offset % pageSize()`. It is unmapped when V8 collects it (after
   * its last view); closing `fd` does not unmap it. Throws (`code` `EMMAP`) when `mmap` fails.
   */
  map(fd: number, offset: number, length: number): ArrayBuffer;
  /** The system page size in bytes. */
  pageSize(): number;
  /** Bytes mapped by this addon and not yet unmapped. */
  mappedBytes(): number;
}

/**
 * The addon, or why it cannot be loaded (not built: no compiler, Windows, an install that skipped
 * optional dependencies).
 *
 * @example
 * ```ts
 * const { binding, reason } = loadMmap();
 * if (binding === undefined) console.warn(reason);
 * ```
 */
export function loadMmap(): { binding: MmapBinding; reason: undefined } | { binding: undefined; reason: string };

/**
 * Builders of the hostile inputs (vectors 1–97), one function per vector
 * family, each returning {@link HostileCase}s with the exact error code expected (or why the input
 * is read by design).
 *
 * @module
 */
import type { HostileCase } from './common.js';
import { containerVectors } from './container.js';
import { globalVectors } from './globals.js';
import { javascriptVectors } from './javascript.js';
import { legacyVectors } from './legacy.js';
import { pickleStreamVectors } from './pickle-stream.js';
import { tensorVectors } from './tensors.js';
import { zipVectors } from './zip.js';

export * from './common.js';
export * from './container.js';
export * from './globals.js';
export * from './javascript.js';
export * from './legacy.js';
export * from './pickle-stream.js';
export * from './reducers.js';
export * from './tensors.js';
export * from './zip.js';

/**
 * Every file-shaped case of vectors 1–95, family by family (vectors 96 and 97 need a mutator and
 * a lying source and are built by their tests). Building all of them takes a few seconds and
 * about 100 MB (the zip-bomb and flood vectors are large on purpose).
 */
export function allVectors(): HostileCase[] {
  return [
    ...containerVectors(),
    ...zipVectors(),
    ...pickleStreamVectors(),
    ...globalVectors(),
    ...tensorVectors(),
    ...legacyVectors(),
    ...javascriptVectors(),
  ];
}
export * from './mutate.js';

/**
 * Test helper (not built): the {@link MigrateError} a call throws.
 *
 * @module
 */

import { isMigrateError, type MigrateError } from '../errors.js';

/**
 * Runs `fn` and returns the {@link MigrateError} it throws; rethrows any other error and fails
 * when nothing is thrown.
 */
export function thrown(fn: () => unknown): MigrateError {
  try {
    fn();
  } catch (e) {
    if (isMigrateError(e)) return e;
    throw e;
  }
  throw new Error('expected a MigrateError');
}

/**
 * Test helper (not built): the {@link DeviceError} a call throws.
 *
 * @module
 */

import { isDeviceError, type DeviceError } from '../errors.js';

/**
 * Runs `f` and returns the {@link DeviceError} it throws; rethrows any other error and fails when
 * nothing is thrown.
 */
export function errorOf(f: () => unknown): DeviceError {
  try {
    f();
  } catch (e) {
    if (isDeviceError(e)) return e;
    throw e;
  }
  throw new Error('expected a DeviceError');
}

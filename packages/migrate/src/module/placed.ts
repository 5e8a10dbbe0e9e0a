/**
 * Small helpers over `Placed` tensors shared by `Module`, device maps and running.
 *
 * @module
 */

import { MetaTensor, type DeviceLike, type DeviceRuntime, type Placed } from '@x/device';

/**
 * Whether a value is a tensor the runtime can place: a TF.js tensor (from any copy of
 * tfjs-core) or a {@link MetaTensor}.
 */
export function isPlaced(value: unknown, runtime: DeviceRuntime): value is Placed {
  return value instanceof MetaTensor || value instanceof runtime.tf.Tensor;
}

/**
 * Moves a tensor that the caller owns to `device` and disposes the old one when a copy was made,
 * so the ledger shows the bytes leaving the old device. Returns the same object (and records
 * nothing) when it is already there.
 */
export function relocate(tensor: Placed, device: DeviceLike, runtime: DeviceRuntime): Placed {
  const moved = runtime.to(tensor, device);
  if (moved !== tensor) runtime.dispose(tensor);
  return moved;
}

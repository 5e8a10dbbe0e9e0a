/**
 * Test helpers: a runtime over two real TF.js backends (`cpu` and `wasm`, with `cuda` bound to
 * wasm so "GPU" placement is exercised without a GPU) and a shorthand to place float32 data.
 *
 * @module
 */

import { createDeviceRuntime, type DeviceLike, type DeviceRuntime, type Placed } from '@x/device';

/** A runtime where `cuda`/`cuda:0` is the wasm backend and `cpu` the cpu backend. */
export function twoBackendRuntime(): Promise<DeviceRuntime> {
  return createDeviceRuntime({ bindings: { cuda: 'wasm' }, cuda: false });
}

/** Places float32 values with the given shape (default: 1-D) on a device. */
export function f32(
  runtime: DeviceRuntime,
  values: number[],
  d: DeviceLike,
  shape: number[] = [values.length],
): Placed {
  return runtime.place(new Float32Array(values), shape, 'float32', d);
}

/**
 * The device runtime of this page: TF.js's cpu and wasm backends, webgl, and webgpu where the
 * browser has it, bound to devices by `@x/device`. The wasm binaries are this build's own assets
 * (nothing is fetched from a CDN).
 */
import { createDeviceRuntime, type DeviceRuntime } from '@x/device';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** Data-holding device types this page offers, in the order shown. */
export const BROWSER_DEVICES = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;

/** Creates the runtime after registering the browser backends (webgpu only when `navigator.gpu` exists). */
export async function createBrowserRuntime(): Promise<DeviceRuntime> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgl');
  if ('gpu' in navigator) await import('@tensorflow/tfjs-backend-webgpu');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': new URL(wasmPlain, location.href).href,
    'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, location.href).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreaded, location.href).href,
  });
  return createDeviceRuntime({ tf, cuda: false });
}

/** The devices of {@link BROWSER_DEVICES} that the runtime really has. */
export function availableDevices(runtime: DeviceRuntime): string[] {
  return BROWSER_DEVICES.filter((d) => runtime.isAvailable(d));
}

/**
 * The page the browser tests drive: `@x/checkpoint/browser` with tfjs-core, its cpu, wasm and
 * webgl backends, bundled for Chromium. Each check returns plain JSON for the Node side to assert on.
 *
 * @module
 */

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import {
  inspect,
  isCheckpointError,
  load,
  sha256Hex,
  type CheckpointSource,
  type PathKey,
} from '@x/checkpoint/browser';
import { createDeviceRuntime, isDeviceError, type DeviceRuntime } from '@x/device';

/** How a fixture reaches `@x/checkpoint`: a `Blob`, its bytes, or its URL (HTTP Range requests). */
export type Via = 'blob' | 'bytes' | 'url';

/** A failure as the page saw it. */
export interface PageError {
  code: string;
  message: string;
}

/** One tensor of an `inspect`. */
export interface PageTensor {
  path: readonly PathKey[];
  dtype: string;
  shape: readonly number[];
  location: string;
  sha256: string | null;
}

/** One tensor of a `load`: the device whose backend holds its data, that backend, and the SHA-256 of its elements. */
export interface PagePlacement {
  path: readonly PathKey[];
  device: string;
  backend: string;
  sha256: string;
}

/** The checks, on `window.checks`. */
export interface Checks {
  /** The TF.js backends registered, the devices bound, why the others are not, the WebGL renderer and the wasm build's features. */
  environment(): Promise<{
    backends: string[];
    devices: string[];
    unavailable: Record<string, string>;
    webglRenderer: string | null;
    wasm: { simd: boolean; threads: boolean };
  }>;
  /** `inspect` of a fixture (unknown classes as records, like the Node test). */
  inspect(file: string, via: Via): Promise<{ format: string; tensors: PageTensor[] } | { error: PageError }>;
  /** `load` of a fixture with a `mapLocation` (none when `undefined`), every tensor hashed. */
  load(
    file: string,
    mapLocation: string | undefined,
  ): Promise<
    | { tensors: PagePlacement[]; ledger: Record<string, { bytes: number; peak: number; tensors: number }> }
    | { error: PageError }
  >;
}

declare global {
  interface Window {
    checks: Checks;
  }
}

let runtime: Promise<DeviceRuntime> | undefined;
/** One runtime for the page: cpu, wasm (binaries served under /wasm/) and webgl when the browser has it. */
function getRuntime(): Promise<DeviceRuntime> {
  runtime ??= createDeviceRuntime({ tf, cuda: false, wasmPaths: '/wasm/' });
  return runtime;
}

async function source(file: string, via: Via): Promise<CheckpointSource> {
  const url = new URL(`/fixtures/${file}`, location.href);
  if (via === 'url') return url;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url.href}: HTTP ${response.status}`);
  return via === 'blob' ? response.blob() : new Uint8Array(await response.arrayBuffer());
}

/** A `CheckpointError` or `DeviceError` as JSON; anything else is a bug and propagates. */
function pageError(e: unknown): { error: PageError } {
  if (isCheckpointError(e) || isDeviceError(e)) return { error: { code: e.code, message: e.message } };
  throw e;
}

/** The value at `path` in what `load` returned (Maps, arrays, OrderedDicts). */
function at(value: unknown, path: readonly PathKey[]): unknown {
  let v = value;
  for (const step of path) v = v instanceof Map ? v.get(step) : (v as Record<string, unknown>)[String(step)];
  return v;
}

window.checks = {
  async environment() {
    const rt = await getRuntime();
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl?.getExtension('WEBGL_debug_renderer_info');
    const known = ['cpu', 'wasm', 'webgl', 'webgpu', 'cuda'];
    const devices = known.filter((d) => rt.isAvailable(d));
    const unavailable: Record<string, string> = {};
    for (const d of known.filter((k) => !rt.isAvailable(k))) {
      try {
        rt.check(d);
      } catch (e) {
        unavailable[d] = e instanceof Error ? e.message : String(e);
      }
    }
    return {
      backends: tf.engine().backendNames(),
      devices,
      unavailable,
      webglRenderer: gl && info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : null,
      wasm: {
        simd: (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true,
        threads: (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true,
      },
    };
  },

  async inspect(file, via) {
    try {
      const result = await inspect(await source(file, via), { unknownClasses: 'record', runtime: await getRuntime() });
      return {
        format: result.format,
        tensors: result.tensors.map((t) => ({
          path: t.path,
          dtype: t.dtype,
          shape: t.shape,
          location: t.location,
          sha256: t.sha256,
        })),
      };
    } catch (e) {
      return pageError(e);
    }
  },

  async load(file, mapLocation) {
    const rt = await getRuntime();
    try {
      const { value, report } = await load(await source(file, 'blob'), {
        runtime: rt,
        ...(mapLocation === undefined ? {} : { mapLocation }),
      });
      const tensors: PagePlacement[] = [];
      for (const placed of report.tensors) {
        const t = at(value, placed.path) as tf.Tensor;
        const device = rt.deviceOf(t);
        const data = await t.data();
        tensors.push({
          path: placed.path,
          device: String(device),
          backend: rt.backendName(device) ?? '',
          sha256: await sha256Hex(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)),
        });
        rt.dispose(t);
      }
      return { tensors, ledger: { ...report.ledger.devices } };
    } catch (e) {
      return pageError(e);
    }
  },
};

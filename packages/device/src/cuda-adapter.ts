/**
 * The only code that touches `@tensorflow/tfjs-node-gpu`, an optional peer that cannot be installed on our
 * machines (its install step downloads libtensorflow). Loaded by dynamic `import()`; any failure means
 * "no CUDA", never "TF on CPU".
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs-core';
import { quote } from './errors.js';

/** The backend name tfjs-node-gpu registers. */
export const CUDA_BACKEND = 'tensorflow';

/** What the probe found. */
export interface CudaProbe {
  /** Number of GPUs usable in this process: 1 when libtensorflow reports a GPU (one per process), else 0. */
  gpuCount: number;
  /** TF.js backend holding CUDA tensors. */
  backendName: string;
  /** Why there is no GPU, when `gpuCount` is 0. */
  reason: string | undefined;
}

/** Loads the peer package; replaceable in tests. */
export type CudaLoader = () => Promise<unknown>;

const PEER = '@tensorflow/tfjs-node-gpu';

/** Imports `@tensorflow/tfjs-node-gpu`. */
export function importTfjsNodeGpu(): Promise<unknown> {
  const specifier: string = PEER;
  return import(/* @vite-ignore */ specifier);
}

/**
 * Loads tfjs-node-gpu and asks its backend whether libtensorflow runs on a GPU (`isUsingGpuDevice`). The
 * peer makes its backend active on import; the previously active backend is restored.
 */
export async function probeCuda(tf: typeof TF, load: CudaLoader = importTfjsNodeGpu): Promise<CudaProbe> {
  const previous = tf.engine().backendName;
  try {
    await load();
  } catch (e) {
    return absent(`${PEER} could not be loaded: ${quote(e instanceof Error ? e.message : String(e), '')}`);
  } finally {
    if (previous != null && tf.getBackend() !== previous) await tf.setBackend(previous);
  }
  if (!tf.engine().backendNames().includes(CUDA_BACKEND))
    return absent(`${PEER} registered no '${CUDA_BACKEND}' backend`);
  const backend = tf.findBackend(CUDA_BACKEND) as { isUsingGpuDevice?: unknown } | null;
  if (backend?.isUsingGpuDevice !== true) {
    return absent(`${PEER} loaded but libtensorflow runs on the CPU (isUsingGpuDevice is false)`);
  }
  return { gpuCount: 1, backendName: CUDA_BACKEND, reason: undefined };
}

function absent(reason: string): CudaProbe {
  return { gpuCount: 0, backendName: CUDA_BACKEND, reason };
}

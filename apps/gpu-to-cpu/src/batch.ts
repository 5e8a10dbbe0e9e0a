/**
 * The bundled model's description (`assets/batch.json`, written by `tools/fixtures/app_model.py`
 * with real PyTorch): its layers, a batch of inputs and PyTorch's logits for them.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A layer as `app_model.py` describes it (PyTorch's module attributes). */
export type Layer =
  | {
      name: string;
      type: 'Conv2d';
      in_channels: number;
      out_channels: number;
      kernel_size: [number, number];
      stride: [number, number];
      padding: [number, number];
      dilation: [number, number];
      groups: number;
      bias: boolean;
    }
  | { name: string; type: 'ReLU' }
  | { name: string; type: 'MaxPool2d'; kernel_size: number; stride: number; padding: number }
  | { name: string; type: 'AdaptiveAvgPool2d'; output_size: number }
  | { name: string; type: 'Flatten'; start_dim: number }
  | { name: string; type: 'Linear'; in_features: number; out_features: number; bias: boolean };

/** `assets/batch.json`. */
export interface Batch {
  /** Layers in execution order. */
  architecture: Layer[];
  /** NCHW shape of `input`. */
  input_shape: number[];
  /** Input images, float32, C order. */
  input: number[];
  /** Labels of the inputs (0 horizontal stripes, 1 vertical). */
  labels: number[];
  /** Shape of `logits`. */
  logits_shape: number[];
  /** PyTorch's logits for `input`, C order. */
  logits: number[];
  /** Test-set accuracy PyTorch measured. */
  accuracy: number;
}

/** The app's `assets` folder (next to `src` and `dist`). */
export const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '..', 'assets');

/** The bundled checkpoint: the CNN's state dict with every storage tagged `cuda:0`. */
export const MODEL_PATH = join(ASSETS, 'model.pt');

/** Reads `assets/batch.json`. */
export async function readBatch(path = join(ASSETS, 'batch.json')): Promise<Batch> {
  return JSON.parse(await readFile(path, 'utf8')) as Batch;
}

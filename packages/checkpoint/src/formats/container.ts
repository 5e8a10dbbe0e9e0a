/**
 * What every checkpoint format hands to the loader: the object graph as `torch.load` would build
 * it, with tensor descriptions in place of tensors, and a way to read each storage's bytes.
 * Formats (torch zip, legacy stream, tar, TorchScript, safetensors, sharded indexes) each produce
 * one; materialisation and placement are format-independent.
 *
 * @module
 */

import type { TorchDType } from '@x/device';
import type { AnyTensorRef } from '../tensors/materialise.js';
import type { StorageRef } from '../pickle/values.js';

/** The file formats `open()` recognises. */
export type CheckpointFormat = 'zip' | 'legacy' | 'tar' | 'torchscript' | 'safetensors' | 'sharded';

/** A key step from a parent container to a child: a dict key (string or number) or a list index. */
export type PathKey = string | number;

/** One tensor of a checkpoint, as described by the file (no data read). */
export interface CheckpointEntry {
  /** `path` joined with `.` (a state-dict name such as `features.0.weight`). */
  readonly name: string;
  /** Dict keys and list indices from the top-level object to the tensor. */
  readonly path: readonly PathKey[];
  /** What kind of tensor the file holds. */
  readonly kind: 'strided' | 'quantized' | 'sparse' | 'meta' | 'inline';
  /** dtype in the file (a quantized tensor's integer dtype, a sparse tensor's values dtype). */
  readonly dtype: TorchDType;
  /** Shape (a sparse tensor's dense shape). */
  readonly shape: readonly number[];
  /** Location tag as saved (`cpu`, `cuda:0`, `meta`, …). */
  readonly location: string;
  /** Bytes of its elements in its own dtype (all components of a sparse tensor; 0 for meta). */
  readonly byteLength: number;
  /**
   * Names of the other entries that view a storage this one views, in entry order (tied weights:
   * a transformers-4 `pytorch_model.bin` saves `lm_head.weight` and `transformer.wte.weight` as two
   * tensors over one storage); empty when it shares none.
   */
  readonly sharedWith: readonly string[];
  /** The file's description of the tensor. */
  readonly ref: AnyTensorRef;
}

/** A parsed checkpoint whose tensor data has not been read yet. */
export interface Container {
  readonly format: CheckpointFormat;
  /** The object graph with tensor descriptions as leaves (Maps, arrays, Tuples, …; see values.ts). */
  readonly root: unknown;
  /** Every tensor, in depth-first (pickling) order. Views of one storage share its StorageRef. */
  readonly entries: readonly CheckpointEntry[];
  /** Every distinct storage, in order of first reference. */
  readonly storages: readonly StorageRef[];
  /**
   * Reads a storage's bytes: exactly `storage.byteLength` bytes, little-endian (big-endian
   * records already byte-swapped), read once with a positional read where the format allows.
   * With `into` (exactly `byteLength` bytes) the bytes land there — read straight into it where
   * the format allows, else copied — and `into` is returned.
   */
  readStorage(storage: StorageRef, into?: Uint8Array): Promise<Uint8Array>;
  /** Releases the underlying source (file handles). */
  close(): Promise<void>;
}

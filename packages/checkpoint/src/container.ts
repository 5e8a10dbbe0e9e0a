/**
 * What every checkpoint format hands to the loader: the object graph as `torch.load` would build
 * it, with {@link TensorRef} leaves in place of tensors, and a way to read each storage's bytes.
 * Formats (torch zip, legacy stream, tar, TorchScript, safetensors, sharded indexes) each produce
 * one; materialisation and placement are format-independent.
 *
 * @module
 */

import type { StorageRef, TensorRef } from './values.js';

/** The file formats `open()` recognises. */
export type CheckpointFormat = 'zip' | 'legacy' | 'tar' | 'torchscript' | 'safetensors' | 'sharded';

/** A key step from a parent container to a child: a dict key (string or number) or a list index. */
export type PathKey = string | number;

/**
 * One tensor of a checkpoint: where it sits in the object graph and what the file says about it.
 *
 * @example
 * ```ts
 * for (const t of container.tensors) console.log(t.name, t.ref.dtype, t.ref.shape);
 * ```
 */
export interface TensorEntry {
  /** Chain of dict keys and list indices from the top-level object to the tensor. */
  readonly path: readonly PathKey[];
  /** The path joined with `.` (a state-dict name such as `features.0.weight`). */
  readonly name: string;
  /** The tensor as described by the file (quantized, sparse and meta refs extend TensorRef). */
  readonly ref: TensorRef;
}

/**
 * A parsed checkpoint whose tensor data has not been read yet.
 *
 * @example
 * ```ts
 * const c = await openContainer(fromBytes(bytes));
 * const bytes0 = await c.readStorage(c.tensors[0]!.ref.storage);
 * await c.close();
 * ```
 */
export interface Container {
  readonly format: CheckpointFormat;
  /** The object graph with {@link TensorRef} leaves (Maps, arrays, Tuples, …; see values.ts). */
  readonly root: unknown;
  /** Every tensor leaf, in depth-first (pickling) order. Views of one storage share its StorageRef. */
  readonly tensors: readonly TensorEntry[];
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

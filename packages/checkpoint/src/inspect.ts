/**
 * `inspect()`: what a checkpoint holds, with a SHA-256 of every tensor's elements, without
 * creating any tensor. The hash is of the elements in C order in the tensor's own dtype,
 * little-endian (bool 1 byte, complex interleaved re/im, float16/bfloat16 their raw 2 bytes,
 * quantized tensors their integer representation (packed bytes for quint4x2/quint2x4), sparse tensors their dense form): the
 * `sha256` that tools/fixtures computes with PyTorch.
 *
 * @module
 */
import { dtypeInfo, float32ToBfloat16, rawView } from '@x/device';
import type { CheckpointEntry, CheckpointFormat } from './formats/container.js';
import { CheckpointError } from './errors.js';
import { checkBound } from './limits.js';
import { gather, numel, type AnyTensorRef } from './tensors/materialise.js';
import { open, scheduler, type Checkpoint, type CheckpointSource, type LoadOptions } from './open.js';
import { elementsPerByte, packedBytes } from './pickle/packed-quantized.js';
import type { CompressedLayout, InlineTensorRef, SparseTensorRef } from './pickle/tensor-refs.js';
import type { TensorRef } from './pickle/values.js';

/** One tensor as {@link inspect} describes it: its {@link CheckpointEntry} without the file's reference, and a hash. */
export interface InspectedTensor extends Omit<CheckpointEntry, 'ref'> {
  /**
   * Lower-case hex SHA-256 of the elements (see the module description); `null` for meta tensors
   * (no data), for sparse tensors with duplicate coordinates or a batched / hybrid compressed
   * layout, and for every tensor when the inspect was made with `hash: false`.
   */
  readonly sha256: string | null;
}

/** Options of {@link inspect}: those of `open`, plus whether to hash. */
export interface InspectOptions extends LoadOptions {
  /** Compute each tensor's SHA-256 (default `true`); `false` reads no tensor data. */
  readonly hash?: boolean;
}

/** What {@link inspect} returns. */
export interface InspectResult {
  readonly format: CheckpointFormat;
  readonly tensors: readonly InspectedTensor[];
  /** Distinct storages. */
  readonly storages: number;
  /** Bytes of all distinct storages (what a load reads). */
  readonly storageBytes: number;
  /** Whether `sha256` was computed (`false` after `hash: false`). */
  readonly hashed: boolean;
}

/**
 * Describes and hashes every tensor of an opened checkpoint, reading each storage once (none with
 * `hash: false`), and closes it. The checkpoint's `onProgress` is called after each distinct tensor
 * is hashed.
 */
export async function inspectCheckpoint(
  ckpt: Checkpoint,
  options: { readonly hash?: boolean } = {},
): Promise<InspectResult> {
  try {
    const hashed = options.hash !== false;
    const distinct = hashed ? [...new Set(ckpt.entries.map((e) => e.ref))] : [];
    const storages = ckpt.container.storages;
    const bytesTotal = hashed ? storages.reduce((sum, s) => sum + s.byteLength, 0) : 0;
    const s = scheduler(ckpt);
    for (const ref of distinct) s.retain(ref);
    const hashes = new Map<AnyTensorRef, string | null>();
    for (const ref of distinct) {
      hashes.set(ref, await hashOf(ref, ckpt));
      s.release(ref);
      ckpt.options.onProgress?.({
        bytesDone: ckpt.bytesRead,
        bytesTotal,
        tensorsDone: hashes.size,
        tensorsTotal: distinct.length,
      });
    }
    return {
      format: ckpt.format,
      tensors: ckpt.entries.map((e) => ({
        name: e.name,
        path: e.path,
        kind: e.kind,
        dtype: e.dtype,
        shape: e.shape,
        location: e.location,
        byteLength: e.byteLength,
        sharedWith: e.sharedWith,
        sha256: hashes.get(e.ref) ?? null,
      })),
      storages: storages.length,
      storageBytes: storages.reduce((sum, s) => sum + s.byteLength, 0),
      hashed,
    };
  } finally {
    await ckpt.close();
  }
}

/**
 * Lists every tensor of a checkpoint with dtype, shape, saved location, size and the SHA-256 of
 * its elements, without creating tensors (no device runtime needed).
 */
export async function inspect(source: CheckpointSource, options: InspectOptions = {}): Promise<InspectResult> {
  return inspectCheckpoint(await open(source, options), options);
}

/** Lower-case hex SHA-256 of `bytes` (WebCrypto; Node ≥ 20 and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

async function hashOf(ref: AnyTensorRef, ckpt: Checkpoint): Promise<string | null> {
  if (!('kind' in ref)) return sha256Hex(await elements(ref, ckpt));
  switch (ref.kind) {
    case 'quantized':
      // packed dtypes: int_repr() is the packed bytes
      if (elementsPerByte(ref.data.dtype) > 1)
        return sha256Hex(packedBytes(await ckpt.storage(ref.data.storage), ref.data, ref.data.storage.key));
      return sha256Hex(await elements(ref.data, ckpt));
    case 'sparse': {
      const dense = ref.layout === 'sparse_coo' ? await denseCoo(ref, ckpt) : await denseCompressed(ref, ckpt);
      return dense === undefined ? null : sha256Hex(dense);
    }
    case 'inline':
      return sha256Hex(inlineBytes(ref));
    case 'meta':
      return null;
  }
}

async function elements(ref: TensorRef, ckpt: Checkpoint): Promise<Uint8Array> {
  const itemSize = dtypeInfo(ref.dtype).itemSize;
  checkBound(
    Math.max(ref.storage.byteLength, numel(ref.shape) * itemSize),
    ckpt.limits.maxTensorBytes,
    'maxTensorBytes',
    'storage or tensor elements (bytes)',
  );
  return gather(await ckpt.storage(ref.storage), ref, itemSize);
}

/** Inline (numpy) data in the tensor's own dtype: bfloat16 travels as float32 and is rounded back. */
function inlineBytes(ref: InlineTensorRef): Uint8Array {
  const d = ref.dtype === 'bfloat16' && ref.data instanceof Float32Array ? float32ToBfloat16(ref.data) : ref.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/**
 * The dense form of a sparse COO tensor (`to_dense()`), built by placing each value block at its
 * coordinates; `undefined` for duplicate coordinates (which `to_dense` would sum).
 */
async function denseCoo(
  ref: SparseTensorRef & { layout: 'sparse_coo' },
  ckpt: Checkpoint,
): Promise<Uint8Array | undefined> {
  const indexBytes = await elements(ref.indices, ckpt);
  const indices = rawView(indexBytes, ref.indices.dtype);
  const values = await elements(ref.values, ckpt);
  const [sparseDims, nnz] = [ref.indices.shape[0] ?? 0, ref.indices.shape[1] ?? 0];
  const block = numel(ref.shape.slice(sparseDims)) * dtypeInfo(ref.values.dtype).itemSize;
  checkBound(
    numel(ref.shape) * dtypeInfo(ref.values.dtype).itemSize,
    ckpt.limits.maxTensorBytes,
    'maxTensorBytes',
    'dense sparse tensor (bytes)',
  );
  const out = new Uint8Array(numel(ref.shape) * dtypeInfo(ref.values.dtype).itemSize);
  const seen = new Set<number>();
  for (let k = 0; k < nnz; k++) {
    let flat = 0;
    for (let d = 0; d < sparseDims; d++) {
      const i = Number(indices[d * nnz + k]);
      if (!(i >= 0 && i < ref.shape[d]!)) {
        throw new CheckpointError(
          'TENSOR_OUT_OF_BOUNDS',
          `sparse index ${i} at [${d}, ${k}] is outside dimension ${d} of size ${ref.shape[d]}`,
          {
            details: { dim: d, index: i, size: ref.shape[d] },
          },
        );
      }
      flat = flat * ref.shape[d]! + i;
    }
    if (seen.has(flat)) return undefined;
    seen.add(flat);
    out.set(values.subarray(k * block, (k + 1) * block), flat * block);
  }
  return out;
}

/**
 * The dense form of a 2-D CSR/CSC/BSR/BSC tensor (`to_dense()`): each value (block) placed at its
 * row and column; `undefined` for batched or hybrid layouts and for duplicate positions.
 */
async function denseCompressed(
  ref: SparseTensorRef & { layout: CompressedLayout },
  ckpt: Checkpoint,
): Promise<Uint8Array | undefined> {
  const blocked = ref.layout === 'sparse_bsr' || ref.layout === 'sparse_bsc';
  if (
    ref.shape.length !== 2 ||
    ref.compressedIndices.shape.length !== 1 ||
    ref.values.shape.length !== (blocked ? 3 : 1)
  )
    return undefined;
  const [rows, cols] = ref.shape as [number, number];
  const [bRows, bCols] = blocked ? [ref.values.shape[1]!, ref.values.shape[2]!] : [1, 1];
  const item = dtypeInfo(ref.values.dtype).itemSize;
  checkBound(rows * cols * item, ckpt.limits.maxTensorBytes, 'maxTensorBytes', 'dense sparse tensor (bytes)');
  const compressed = rawView(await elements(ref.compressedIndices, ckpt), ref.compressedIndices.dtype);
  const plain = rawView(await elements(ref.plainIndices, ckpt), ref.plainIndices.dtype);
  const values = await elements(ref.values, ckpt);
  const byRow = ref.layout === 'sparse_csr' || ref.layout === 'sparse_bsr';
  const out = new Uint8Array(rows * cols * item);
  const seen = new Set<number>();
  for (let i = 0; i + 1 < compressed.length; i++) {
    for (let k = Number(compressed[i]); k < Number(compressed[i + 1]); k++) {
      const j = Number(plain[k]);
      const [r, c] = byRow ? [i, j] : [j, i];
      if (!((r + 1) * bRows <= rows && (c + 1) * bCols <= cols && r >= 0 && c >= 0 && k < plain.length)) {
        throw new CheckpointError(
          'TENSOR_OUT_OF_BOUNDS',
          `${ref.layout} entry ${k} at block (${r}, ${c}) is outside the ${rows}x${cols} tensor`,
          { details: { index: k } },
        );
      }
      if (seen.has(r * cols + c)) return undefined;
      seen.add(r * cols + c);
      for (let br = 0; br < bRows; br++) {
        const from = (k * bRows * bCols + br * bCols) * item;
        out.set(values.subarray(from, from + bCols * item), ((r * bRows + br) * cols + c * bCols) * item);
      }
    }
  }
  return out;
}

/**
 * Tensor descriptions beyond the plain strided {@link TensorRef} of `values.ts`: what the rebuild
 * functions of `torch/_utils.py` produce, before any data is read, plus the one geometry check
 * every strided view goes through (ATen's `checkInBoundsForStorage`, in `BigInt`).
 *
 * @module
 */
import type { TorchDType, TypedArray } from '@x/device';
import { CheckpointError, type ErrorWhere } from '../errors.js';
import { checkBound, type Limits } from '../limits.js';
import type { TensorRef } from './values.js';

/**
 * A strided tensor as rebuilt from a pickle: a {@link TensorRef} plus the bits torch ≥ 2.0 can
 * attach (`metadata` of `_rebuild_tensor_v2/v3`) and Python attributes.
 */
export interface RebuiltTensorRef extends TensorRef {
  /** Conjugate bit (`{'conj': True}` metadata); the data must be conjugated when read. */
  readonly conj: boolean;
  /** Negative bit (`{'neg': True}` metadata); the data must be negated when read. */
  readonly neg: boolean;
  /** Python attributes (`_rebuild_from_type_v2` / `_rebuild_parameter_with_state` state), or `undefined`. */
  readonly state: unknown;
}

/** A qscheme name (`torch.per_tensor_affine` → `'per_tensor_affine'`). */
export type QScheme =
  | 'per_tensor_affine'
  | 'per_tensor_symmetric'
  | 'per_channel_affine'
  | 'per_channel_symmetric'
  | 'per_channel_affine_float_qparams';

/** Quantizer parameters of `_rebuild_qtensor`. */
export type Quantizer =
  | {
      readonly qscheme: 'per_tensor_affine' | 'per_tensor_symmetric';
      readonly scale: number;
      readonly zeroPoint: number;
    }
  | {
      readonly qscheme: 'per_channel_affine' | 'per_channel_symmetric' | 'per_channel_affine_float_qparams';
      readonly scales: TensorRef;
      readonly zeroPoints: TensorRef;
      readonly axis: number;
    };

/**
 * A quantized tensor (`torch._utils._rebuild_qtensor`): the integer view `data` (dtype `qint8`,
 * `quint8`, `qint32`, …) and its quantizer.
 */
export interface QuantizedTensorRef {
  readonly kind: 'quantized';
  readonly data: TensorRef;
  readonly quantizer: Quantizer;
  readonly requiresGrad: boolean;
}

/** Every `torch.layout` (`torch.serialization._get_layout` accepts `'torch.<name>'`). */
export type LayoutName =
  | 'strided'
  | 'sparse_coo'
  | 'sparse_csr'
  | 'sparse_csc'
  | 'sparse_bsr'
  | 'sparse_bsc'
  | '_mkldnn'
  | 'jagged';

/** A `torch.layout` object in a pickle (`torch.serialization._get_layout('torch.sparse_coo')`). */
export class Layout {
  /** @param name - layout name without the `torch.` prefix. */
  constructor(readonly name: LayoutName) {
    Object.freeze(this);
  }
}

/** A compressed sparse layout name. */
export type CompressedLayout = 'sparse_csr' | 'sparse_csc' | 'sparse_bsr' | 'sparse_bsc';

/**
 * A sparse tensor (`_rebuild_sparse_tensor`, `_rebuild_sparse_csr_tensor`): its component dense
 * tensors and logical shape.
 */
export type SparseTensorRef =
  | {
      readonly kind: 'sparse';
      readonly layout: 'sparse_coo';
      readonly shape: readonly number[];
      readonly indices: TensorRef;
      readonly values: TensorRef;
      /** `is_coalesced` (torch ≥ 2.0 writes it), `undefined` when absent. */
      readonly coalesced: boolean | undefined;
    }
  | {
      readonly kind: 'sparse';
      readonly layout: CompressedLayout;
      readonly shape: readonly number[];
      readonly compressedIndices: TensorRef;
      readonly plainIndices: TensorRef;
      readonly values: TensorRef;
    };

/** A tensor on the `meta` device (`_rebuild_meta_tensor_no_storage`): shape and dtype, no data. */
export interface MetaTensorRef {
  readonly kind: 'meta';
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly requiresGrad: boolean;
}

/**
 * A tensor whose data travelled inline as a numpy array (`_rebuild_device_tensor_from_numpy`,
 * written for xla/ort/hpu tensors): `data` is the numpy array's C-order elements as read
 * (`bfloat16` tensors travel as float32 numpy arrays; `dtype` is the tensor's dtype).
 */
export interface InlineTensorRef {
  readonly kind: 'inline';
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
  /** Device string as saved, e.g. `xla:0`. */
  readonly device: string;
  readonly requiresGrad: boolean;
}

/** The tensor descriptions that carry a `kind`, by kind. */
interface TensorKinds {
  quantized: QuantizedTensorRef;
  sparse: SparseTensorRef;
  meta: MetaTensorRef;
  inline: InlineTensorRef;
}

/** Whether `value` is a tensor description of the given `kind`. */
export function isTensorKind<K extends keyof TensorKinds>(value: object, kind: K): value is TensorKinds[K] {
  return 'kind' in value && value.kind === kind;
}

/** Validated geometry of a strided view. */
export interface Geometry {
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** C-contiguous strides (in elements) of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return stride;
}

/**
 * Checks a strided view the way ATen's `checkInBoundsForStorage` does, with all arithmetic in
 * `BigInt`: rank ≤ `maxRank`, `len(size) == len(stride)`, every number a non-negative safe
 * integer, element count a safe integer, and — unless the view has no elements or `storageBytes`
 * is `undefined` (meta) — `(offset + Σ (size_i − 1)·stride_i + 1) · itemSize ≤ storageBytes`.
 * Throws `TENSOR_GEOMETRY` or `TENSOR_OUT_OF_BOUNDS` with torch's wording.
 */
export function checkGeometry(
  offset: number | bigint,
  size: readonly (number | bigint)[],
  stride: readonly (number | bigint)[],
  itemSize: number,
  storageBytes: number | undefined,
  limits: Limits,
  where: ErrorWhere,
): Geometry {
  const bad = (why: string): never => {
    throw new CheckpointError('TENSOR_GEOMETRY', `invalid tensor geometry: ${why}`, {
      ...where,
      details: { size: size.slice(0, 8).map(String), stride: stride.slice(0, 8).map(String), offset: String(offset) },
    });
  };
  if (size.length > limits.maxRank) checkBound(size.length, limits.maxRank, 'maxRank', 'tensor rank', where);
  if (size.length !== stride.length) bad(`${size.length} sizes but ${stride.length} strides`);
  if (!isIndex(offset)) bad(`storage offset ${String(offset)} is not a non-negative safe integer`);
  const off = offset as number;
  const shape = safeIndices(size, 'size', bad);
  const strides = safeIndices(stride, 'stride', bad);
  const [numel, last] = extent(off, shape, strides);
  if (typeof numel === 'bigint' && numel > BigInt(Number.MAX_SAFE_INTEGER))
    bad(`element count ${numel} is not a safe integer`);
  if (numel > 0 && storageBytes !== undefined) {
    const needed =
      typeof last === 'number' && (last + 1) * itemSize <= Number.MAX_SAFE_INTEGER
        ? (last + 1) * itemSize
        : (BigInt(last) + 1n) * BigInt(itemSize);
    if (needed > storageBytes) {
      throw new CheckpointError(
        'TENSOR_OUT_OF_BOUNDS',
        `setStorage: sizes [${shape.join(', ')}], strides [${strides.join(', ')}], storage offset ${off}, and itemsize ${itemSize} requiring a storage size of ${needed} are out of bounds for storage of size ${storageBytes}`,
        { ...where, details: { needed: needed.toString(), storageBytes } },
      );
    }
  }
  return Object.freeze({ offset: off, shape: Object.freeze(shape), stride: Object.freeze(strides) });
}

function isIndex(v: number | bigint): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** `values` as numbers, each a non-negative safe integer, else `bad`. */
function safeIndices(values: readonly (number | bigint)[], what: string, bad: (why: string) => never): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!isIndex(v)) bad(`${what} ${String(v)} is not a non-negative safe integer`);
    out[i] = v as number;
  }
  return out;
}

/**
 * The element count of `shape` and the index of its last element, as numbers while every step is
 * exact (below 2^53; float rounding is monotonic, so a step past it shows), else as bigints.
 */
function extent(
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
): [numel: number | bigint, last: number | bigint] {
  let numel = 1;
  let last = offset;
  for (let i = 0; i < shape.length; i++) {
    numel *= shape[i]!;
    if (shape[i]! > 0) last += (shape[i]! - 1) * strides[i]!;
    if (numel > Number.MAX_SAFE_INTEGER || last > Number.MAX_SAFE_INTEGER) return exactExtent(offset, shape, strides);
  }
  return [numel, last];
}

function exactExtent(
  offset: number,
  shape: readonly number[],
  strides: readonly number[],
): [numel: bigint, last: bigint] {
  let numel = 1n;
  let last = BigInt(offset);
  for (let i = 0; i < shape.length; i++) {
    numel *= BigInt(shape[i]!);
    if (shape[i]! > 0) last += BigInt(shape[i]! - 1) * BigInt(strides[i]!);
  }
  return [numel, last];
}

export { isStorageRef, isTensorRef } from './values.js';

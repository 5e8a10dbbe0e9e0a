/**
 * From storage bytes to tensors: gather a strided view into C-contiguous elements, convert its dtype
 * with `@x/device`'s rules, apply torch's conj/neg bits and place it on the target device. Quantized
 * tensors are dequantized to float32, sparse tensors become their component tensors, meta tensors
 * become {@link MetaTensor}s; `'raw'` mode returns the original elements as typed arrays.
 *
 * @module
 */
import {
  device,
  dtypeInfo,
  float32ToBfloat16,
  isDeviceError,
  MetaTensor,
  quote,
  rawView,
  tfItemSize,
  toTensorData,
  type Device,
  type DeviceRuntime,
  type DTypeMode,
  type Placed,
  type TensorData,
  type TensorValues,
  type TfDType,
  type TorchDType,
  type TypedArray,
} from '@x/device';
import { CheckpointError } from '../errors.js';
import { dequantizePacked, elementsPerByte, packedBytes } from '../pickle/packed-quantized.js';
import type {
  CompressedLayout,
  Geometry,
  InlineTensorRef,
  MetaTensorRef,
  QuantizedTensorRef,
  Quantizer,
  QScheme,
  RebuiltTensorRef,
  SparseTensorRef,
} from '../pickle/tensor-refs.js';
import type { StorageRef, TensorRef } from '../pickle/values.js';

/** Every tensor description a checkpoint can hold (the leaves of a container's object graph). */
export type AnyTensorRef =
  | TensorRef
  | RebuiltTensorRef
  | QuantizedTensorRef
  | SparseTensorRef
  | MetaTensorRef
  | InlineTensorRef;

/**
 * A tensor's elements in their original dtype, as returned in `'raw'` dtype mode: `data` is a
 * Float64Array, BigInt64Array, Uint16Array (float16/bfloat16 bits), interleaved complex, … in C order.
 * Quantized tensors carry their integer representation and `quantizer`.
 */
export class RawTensor {
  /**
   * @param data - Elements in C order (interleaved re/im for complex dtypes).
   * @param quantizer - Quantization parameters of a quantized tensor, else `undefined`.
   */
  constructor(
    readonly dtype: TorchDType,
    readonly shape: readonly number[],
    readonly data: TypedArray,
    readonly quantizer: RawQuantizer | undefined = undefined,
  ) {}
}

/** Quantization parameters of a raw quantized tensor (per-channel parameters as raw tensors). */
export type RawQuantizer =
  | {
      readonly qscheme: 'per_tensor_affine' | 'per_tensor_symmetric';
      readonly scale: number;
      readonly zeroPoint: number;
    }
  | {
      readonly qscheme: Exclude<QScheme, 'per_tensor_affine' | 'per_tensor_symmetric'>;
      readonly scales: RawTensor;
      readonly zeroPoints: RawTensor;
      readonly axis: number;
    };

/** A dense tensor as materialised: a TF.js tensor, a {@link MetaTensor} or, in `'raw'` mode, a {@link RawTensor}. */
export type DenseValue = Placed | RawTensor;

/**
 * A sparse tensor as its component tensors (TF.js has no sparse tensors). COO: `indices` is
 * `[ndim, nnz]` (int32 after conversion), `values` is `[nnz, …]`; compressed layouts (CSR, CSC,
 * BSR, BSC) carry `compressedIndices` and `plainIndices` instead. `shape` is the logical dense shape.
 */
export type SparseTensors =
  | {
      readonly layout: 'sparse_coo';
      readonly shape: readonly number[];
      readonly indices: DenseValue;
      readonly values: DenseValue;
      /** torch ≥ 2.0's saved `is_coalesced`; absent in files torch 1.x wrote. `save` writes it back. */
      readonly coalesced?: boolean;
    }
  | {
      readonly layout: CompressedLayout;
      readonly shape: readonly number[];
      readonly compressedIndices: DenseValue;
      readonly plainIndices: DenseValue;
      readonly values: DenseValue;
    };

/** What one tensor materialises to. */
export type Materialised = DenseValue | SparseTensors;

/** A dtype change made while materialising (widening, narrowing, rounding, dequantizing). */
export interface DTypeConversion {
  /** The torch dtype in the file. */
  readonly from: TorchDType;
  /** The TF.js dtype of the result. */
  readonly to: TfDType;
  /** `undefined` when every value converted exactly, else what changed (from `@x/device`, or the dequantization). */
  readonly lossy: string | undefined;
  /** What was done, e.g. `'widened'`, `'narrowed'`, `'dequantized (per_tensor_affine)'`. */
  readonly step: string;
}

/** Where a materialised tensor went and what it became. */
export interface MaterialiseResult {
  readonly value: Materialised;
  /** The device it was placed on (`meta` for meta tensors). */
  readonly device: Device;
  /** TF.js dtype of the result, or the torch dtype in `'raw'` mode. */
  readonly dtype: TfDType | TorchDType;
  /** The dtype change, `undefined` when none. */
  readonly conversion: DTypeConversion | undefined;
}

/** What {@link materialise} needs besides the tensor description. */
export interface MaterialiseContext {
  readonly runtime: DeviceRuntime;
  readonly mode: DTypeMode;
  /** The bytes of a storage (read before; never called for storages whose target is `meta`). */
  readonly bytes: (storage: StorageRef) => Uint8Array;
  /**
   * Asked just before a widening conversion of a contiguous view: `true` hands the storage's bytes
   * over, and the conversion then writes into their buffer (`toTensorData`'s `overwrite`) instead
   * of allocating. Absent: never.
   */
  readonly consume?: (storage: StorageRef) => boolean;
  /**
   * The converted elements of a storage whose one tensor was already widened elsewhere (a
   * `WideningConverter`, e.g. on a worker thread); used instead of its bytes. Absent: none.
   */
  readonly converted?: (storage: StorageRef) => TensorData | undefined;
  /** The checked target device of a storage. */
  readonly target: (storage: StorageRef) => Device;
  /** The device of data that has no storage (inline numpy tensors), checked. */
  readonly inlineTarget: (ref: InlineTensorRef) => Device;
}

/** Facts recorded for every tensor this package creates; see {@link tensorInfo}. */
export interface TensorInfo {
  /** The torch dtype the tensor had in the file (so a writer can save it back as such). */
  readonly torchDType: TorchDType;
  /** The description the tensor was built from. */
  readonly ref: AnyTensorRef;
  /**
   * In `'raw'` mode, the whole storage of a strided view that does not cover all of it (a slice,
   * a sparse tensor's index storage with bytes past its view), so a writer puts back the bytes no
   * view holds; `undefined` otherwise.
   */
  readonly storage?: Uint8Array;
}

const INFO = new WeakMap<object, TensorInfo>();

/**
 * The torch dtype and file description of a tensor created by `load` / `open().tensor`, or
 * `undefined` for tensors made elsewhere. A writer uses it to save tensors in their original dtype.
 */
export function tensorInfo(tensor: object): TensorInfo | undefined {
  return INFO.get(tensor);
}

/** Number of elements of a shape (1 for a 0-d tensor). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
}

/** Whether a strided view is C-contiguous (sizes of 1 may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const size = shape[i]!;
    if (size !== 1 && stride[i] !== expected) return false;
    expected *= size;
  }
  return true;
}

/**
 * The elements of a strided view in C order. A contiguous view is a zero-copy `subarray` of
 * `bytes`; any other view (transposed, stepped, 0-stride, …) is gathered into a new buffer,
 * iteratively, copying whole elements in 4-, 2- or 1-byte units. Geometry must already be checked
 * (`checkGeometry`).
 *
 * @param bytes - The whole storage.
 * @param view - Offset, shape and stride, in elements.
 *
 * @example
 * ```ts
 * const storage = new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer);
 * const t = gather(storage, { offset: 0, shape: [3, 2], stride: [1, 3] }, 4); // transpose of [2, 3]
 * new Float32Array(t.buffer); // [0, 3, 1, 4, 2, 5]
 * ```
 */
export function gather(bytes: Uint8Array, view: Geometry, itemSize: number): Uint8Array {
  const n = numel(view.shape);
  const start = view.offset * itemSize;
  if (n === 0) return new Uint8Array(0);
  if (isContiguous(view.shape, view.stride)) return bytes.subarray(start, start + n * itemSize);
  const [shape, stride] = collapse(view.shape, view.stride);
  const unit =
    itemSize % 4 === 0 && bytes.byteOffset % 4 === 0 ? 4 : itemSize % 2 === 0 && bytes.byteOffset % 2 === 0 ? 2 : 1;
  const k = itemSize / unit;
  const out = new Uint8Array(n * itemSize);
  const src = unitView(bytes, unit);
  const dst = unitView(out, unit);
  copyStrided(
    src,
    dst,
    view.offset * k,
    shape,
    stride.map((s) => s * k),
    k,
  );
  return out;
}

type UnitArray = Int32Array | Uint16Array | Uint8Array;

function unitView(bytes: Uint8Array, unit: number): UnitArray {
  if (unit === 4) return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
  if (unit === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
  return bytes;
}

/** Drops size-1 dimensions and merges dimensions that are contiguous with the next one. */
function collapse(shape: readonly number[], stride: readonly number[]): [number[], number[]] {
  const sizes: number[] = [];
  const strides: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = sizes.length - 1;
    if (last >= 0 && strides[last] === stride[i]! * shape[i]!) {
      sizes[last]! *= shape[i]!;
      strides[last] = stride[i]!;
    } else {
      sizes.push(shape[i]!);
      strides.push(stride[i]!);
    }
  }
  return [sizes, strides];
}

/** Copies a strided view (strides in units, `k` units per element) into `dst` in C order. */
function copyStrided(src: UnitArray, dst: UnitArray, base: number, shape: number[], stride: number[], k: number): void {
  const rank = shape.length;
  const inner = shape[rank - 1]!;
  const step = stride[rank - 1]!;
  const index = new Array<number>(rank).fill(0);
  const rows = numel(shape) / inner;
  let from = base;
  let d = 0;
  for (let row = 0; row < rows; row++) {
    if (k === 1) {
      for (let i = 0, p = from; i < inner; i++, p += step) dst[d++] = src[p]!;
    } else {
      for (let i = 0, p = from; i < inner; i++, p += step) for (let j = 0; j < k; j++) dst[d++] = src[p + j]!;
    }
    for (let axis = rank - 2; axis >= 0; axis--) {
      from += stride[axis]!;
      if (++index[axis]! < shape[axis]!) break;
      from -= stride[axis]! * shape[axis]!;
      index[axis] = 0;
    }
  }
}

/**
 * Every storage a tensor description reads (its own, a per-channel quantizer's, a sparse tensor's
 * components'); none for meta and inline tensors.
 */
export function storagesOf(ref: AnyTensorRef): StorageRef[] {
  if (!('kind' in ref)) return [ref.storage];
  switch (ref.kind) {
    case 'quantized': {
      const q = ref.quantizer;
      return 'scales' in q ? [ref.data.storage, q.scales.storage, q.zeroPoints.storage] : [ref.data.storage];
    }
    case 'sparse':
      return ref.layout === 'sparse_coo'
        ? [ref.indices.storage, ref.values.storage]
        : [ref.compressedIndices.storage, ref.plainIndices.storage, ref.values.storage];
    default:
      return [];
  }
}

/**
 * The storage whose saved location places a tensor (the data of a quantized tensor, the values of
 * a sparse tensor), or `undefined` for meta and inline tensors.
 */
export function primaryStorage(ref: AnyTensorRef): StorageRef | undefined {
  if (!('kind' in ref)) return ref.storage;
  if (ref.kind === 'quantized') return ref.data.storage;
  if (ref.kind === 'sparse') return ref.values.storage;
  return undefined;
}

/**
 * The torch dtype and logical shape of any tensor description (a quantized tensor's integer dtype,
 * a sparse tensor's values dtype and dense shape).
 */
export function describeRef(ref: AnyTensorRef): { dtype: TorchDType; shape: readonly number[] } {
  if (!('kind' in ref)) return { dtype: ref.dtype, shape: ref.shape };
  switch (ref.kind) {
    case 'quantized':
      return { dtype: ref.data.dtype, shape: ref.data.shape };
    case 'sparse':
      return { dtype: ref.values.dtype, shape: ref.shape };
    default:
      return { dtype: ref.dtype, shape: ref.shape };
  }
}

/**
 * Builds the tensor a description stands for, on the device the context resolved for its storage.
 * Registers every created tensor with {@link tensorInfo}.
 */
export function materialise(ref: AnyTensorRef, name: string, ctx: MaterialiseContext): MaterialiseResult {
  try {
    if (!('kind' in ref)) return dense(ref, name, ctx);
    switch (ref.kind) {
      case 'quantized':
        return quantized(ref, name, ctx);
      case 'sparse':
        return sparse(ref, name, ctx);
      case 'meta':
        return meta(ref, ref.shape, ref.dtype);
      case 'inline':
        return inline(ref, name, ctx);
    }
  } catch (e) {
    throw asCheckpointError(e, name);
  }
}

function dense(ref: TensorRef, name: string, ctx: MaterialiseContext): MaterialiseResult {
  const target = ctx.target(ref.storage);
  if (target.type === 'meta') return meta(ref, ref.shape, ref.dtype);
  const bits = ref as Partial<RebuiltTensorRef>;
  const converted = ctx.converted?.(ref.storage);
  if (converted !== undefined)
    return fromData(
      ref,
      converted,
      ref.dtype,
      ref.shape,
      target,
      ctx,
      bits.conj === true,
      bits.neg === true,
      undefined,
    );
  const bytes = ctx.bytes(ref.storage);
  const elements = gather(bytes, ref, dtypeInfo(ref.dtype).itemSize);
  const consume = (): boolean => elements.buffer === bytes.buffer && ctx.consume?.(ref.storage) === true;
  const result = fromElements(
    ref,
    elements,
    ref.dtype,
    ref.shape,
    target,
    ctx,
    bits.conj === true,
    bits.neg === true,
    name,
    consume,
  );
  if (
    ctx.mode === 'raw' &&
    !(
      elements.byteOffset === bytes.byteOffset &&
      elements.byteLength === bytes.byteLength &&
      elements.buffer === bytes.buffer
    )
  ) {
    INFO.set(result.value, Object.freeze({ ...INFO.get(result.value)!, storage: bytes }));
  }
  return result;
}

function fromElements(
  ref: AnyTensorRef,
  elements: Uint8Array,
  dtype: TorchDType,
  shape: readonly number[],
  target: Device,
  ctx: MaterialiseContext,
  conj: boolean,
  neg: boolean,
  name: string,
  consume: () => boolean = () => false,
): MaterialiseResult {
  if (ctx.mode === 'raw') {
    const data = applyBits(rawView(elements, dtype), dtype, conj, neg, elements.buffer);
    return register(new RawTensor(dtype, shape, data), ref, dtype, target, dtype, undefined);
  }
  const info = dtypeInfo(dtype);
  if (info.tf === undefined) {
    throw new CheckpointError(
      'TENSOR_UNSUPPORTED',
      `tensor ${quote(name)} has dtype ${dtype}, which TF.js cannot hold; load it with dtype: 'raw'`,
      {
        details: { dtype },
      },
    );
  }
  const data = toTensorData(elements, dtype, ctx.mode, { overwrite: info.itemSize < tfItemSize(info.tf) && consume() });
  return fromData(ref, data, dtype, shape, target, ctx, conj, neg, elements.buffer);
}

/** Places converted data (after torch's conj/neg bits, copying first when it shares `shared`, the storage's buffer). */
function fromData(
  ref: AnyTensorRef,
  data: TensorData,
  dtype: TorchDType,
  shape: readonly number[],
  target: Device,
  ctx: MaterialiseContext,
  conj: boolean,
  neg: boolean,
  shared: ArrayBufferLike | undefined,
): MaterialiseResult {
  const values = applyBits(data.values, dtype, conj, neg, shared) as TensorValues;
  const placed = ctx.runtime.place(values, shape, data.dtype, target);
  const conversion =
    dtype === data.dtype
      ? undefined
      : {
          from: dtype,
          to: data.dtype,
          lossy: data.lossy,
          step: dtypeInfo(dtype).itemSize < tfItemSize(data.dtype) ? 'widened' : 'narrowed',
        };
  return register(placed, ref, dtype, target, data.dtype, conversion);
}

function meta(ref: AnyTensorRef, shape: readonly number[], dtype: TorchDType): MaterialiseResult {
  const tf = dtypeInfo(dtype).tf ?? 'float32';
  const where = new MetaTensor(shape, tf, metaDevice);
  return register(where, ref, dtype, metaDevice, tf, undefined);
}

function quantized(ref: QuantizedTensorRef, name: string, ctx: MaterialiseContext): MaterialiseResult {
  const data = ref.data;
  const target = ctx.target(data.storage);
  if (target.type === 'meta') return meta(ref, data.shape, 'float32');
  const q = ref.quantizer;
  if (elementsPerByte(data.dtype) > 1) return packedQuantized(ref, name, target, ctx);
  const elements = gather(ctx.bytes(data.storage), data, dtypeInfo(data.dtype).itemSize);
  if (ctx.mode === 'raw') {
    const quantizer: RawQuantizer =
      'scales' in q
        ? { qscheme: q.qscheme, scales: rawOf(q.scales, ctx), zeroPoints: rawOf(q.zeroPoints, ctx), axis: q.axis }
        : q;
    const raw = new RawTensor(data.dtype, data.shape, rawView(elements, data.dtype), quantizer);
    return register(raw, ref, data.dtype, target, data.dtype, undefined);
  }
  const ints = rawView(elements, data.dtype) as Int8Array | Uint8Array | Int32Array;
  const values = dequantize(ints, data.shape, q, ctx);
  const placed = ctx.runtime.place(values, data.shape, 'float32', target);
  const params = 'scales' in q ? `axis ${q.axis}` : `scale ${q.scale}, zero_point ${q.zeroPoint}`;
  const conversion: DTypeConversion = {
    from: data.dtype,
    to: 'float32',
    lossy: undefined,
    step: `dequantized (${q.qscheme}, ${params})`,
  };
  return register(placed, ref, data.dtype, target, 'float32', conversion);
}

/** quint4x2 / quint2x4: raw mode keeps the packed bytes (`int_repr()`), convert mode dequantizes per tensor. */
function packedQuantized(
  ref: QuantizedTensorRef,
  name: string,
  target: Device,
  ctx: MaterialiseContext,
): MaterialiseResult {
  const { data, quantizer: q } = ref;
  if ('scales' in q) {
    throw new CheckpointError(
      'TENSOR_UNSUPPORTED',
      `tensor ${quote(name)}: per-channel ${data.dtype} is not supported`,
      { details: { dtype: data.dtype } },
    );
  }
  const packed = packedBytes(ctx.bytes(data.storage), data, name);
  if (ctx.mode === 'raw')
    return register(
      new RawTensor(data.dtype, data.shape, packed.slice(), q),
      ref,
      data.dtype,
      target,
      data.dtype,
      undefined,
    );
  const values = dequantizePacked(packed, numel(data.shape), data.dtype, q.scale, q.zeroPoint);
  const conversion: DTypeConversion = {
    from: data.dtype,
    to: 'float32',
    lossy: undefined,
    step: `dequantized (${q.qscheme}, scale ${q.scale}, zero_point ${q.zeroPoint})`,
  };
  return register(
    ctx.runtime.place(values, data.shape, 'float32', target),
    ref,
    data.dtype,
    target,
    'float32',
    conversion,
  );
}

/**
 * `(q - zero_point) * scale` per element, rounded to float32 once, as ATen's `dequantize_val`
 * (float operand, double scale); per-channel parameters index the `axis` dimension.
 */
function dequantize(
  q: Int8Array | Uint8Array | Int32Array,
  shape: readonly number[],
  quantizer: Quantizer,
  ctx: MaterialiseContext,
): Float32Array {
  const out = new Float32Array(q.length);
  if (!('scales' in quantizer)) {
    const { scale, zeroPoint } = quantizer;
    for (let i = 0; i < q.length; i++) out[i] = (q[i]! - zeroPoint) * scale;
    return out;
  }
  const scales = numbersOf(quantizer.scales, ctx);
  const zeros = numbersOf(quantizer.zeroPoints, ctx);
  const channels = shape[quantizer.axis] ?? 1;
  const inner = numel(shape.slice(quantizer.axis + 1));
  for (let i = 0; i < q.length; i++) {
    const c = Math.floor(i / inner) % channels;
    out[i] = (q[i]! - zeros[c]!) * scales[c]!;
  }
  return out;
}

/** A small parameter tensor's values as numbers (float64 scales, int64 or float zero points). */
function numbersOf(ref: TensorRef, ctx: MaterialiseContext): Float64Array {
  const elements = gather(ctx.bytes(ref.storage), ref, dtypeInfo(ref.dtype).itemSize);
  if (dtypeInfo(ref.dtype).tf === 'float32' && dtypeInfo(ref.dtype).itemSize === 2) {
    return Float64Array.from(toTensorData(elements, ref.dtype, 'convert').values);
  }
  const raw = rawView(elements, ref.dtype);
  const out = new Float64Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = Number(raw[i]);
  return out;
}

function rawOf(ref: TensorRef, ctx: MaterialiseContext): RawTensor {
  const elements = gather(ctx.bytes(ref.storage), ref, dtypeInfo(ref.dtype).itemSize);
  return new RawTensor(ref.dtype, ref.shape, rawView(elements, ref.dtype));
}

function sparse(ref: SparseTensorRef, name: string, ctx: MaterialiseContext): MaterialiseResult {
  const values = dense(ref.values, `${name}.values`, ctx);
  const part = (r: TensorRef, what: string): DenseValue => dense(r, `${name}.${what}`, ctx).value as DenseValue;
  const value: SparseTensors =
    ref.layout === 'sparse_coo'
      ? Object.freeze({
          layout: ref.layout,
          shape: ref.shape,
          indices: part(ref.indices, 'indices'),
          values: values.value as DenseValue,
          ...(ref.coalesced === undefined ? {} : { coalesced: ref.coalesced }),
        })
      : Object.freeze({
          layout: ref.layout,
          shape: ref.shape,
          compressedIndices: part(ref.compressedIndices, 'compressedIndices'),
          plainIndices: part(ref.plainIndices, 'plainIndices'),
          values: values.value as DenseValue,
        });
  return { value, device: values.device, dtype: values.dtype, conversion: values.conversion };
}

function inline(ref: InlineTensorRef, name: string, ctx: MaterialiseContext): MaterialiseResult {
  const target = ctx.inlineTarget(ref);
  if (target.type === 'meta') return meta(ref, ref.shape, ref.dtype);
  const itemSize = dtypeInfo(ref.dtype).itemSize;
  const d = ref.data;
  let elements: Uint8Array;
  if (d.BYTES_PER_ELEMENT === itemSize) elements = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  else if (ref.dtype === 'bfloat16' && d instanceof Float32Array) {
    const bits = float32ToBfloat16(d);
    elements = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
  } else {
    throw new CheckpointError(
      'TENSOR_UNSUPPORTED',
      `tensor ${quote(name)}: inline ${ref.dtype} data arrived as ${d.constructor.name}`,
      {
        details: { dtype: ref.dtype },
      },
    );
  }
  return fromElements(ref, elements, ref.dtype, ref.shape, target, ctx, false, false, name);
}

const metaDevice = device('meta');

function register(
  value: DenseValue,
  ref: AnyTensorRef,
  torchDType: TorchDType,
  device: Device,
  dtype: TfDType | TorchDType,
  conversion: DTypeConversion | undefined,
): MaterialiseResult {
  INFO.set(value, Object.freeze({ torchDType, ref }));
  return { value, device, dtype, conversion };
}

/**
 * Applies torch's conjugate and negative bits. Arrays that share the storage's buffer are copied
 * first (other views of the storage must not change).
 */
function applyBits<T extends TypedArray>(
  values: T,
  dtype: TorchDType,
  conj: boolean,
  neg: boolean,
  shared: ArrayBufferLike | undefined,
): T {
  const complex = dtype.startsWith('complex');
  if (!(neg || (conj && complex)) || dtype === 'bool') return values;
  const out = (values.buffer === shared ? values.slice() : values) as T;
  const start = neg ? 0 : 1;
  const step = neg ? 1 : 2;
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = start; i < out.length; i += step) out[i] = -out[i]!;
  } else if (out instanceof Uint16Array && dtype !== 'uint16') {
    for (let i = start; i < out.length; i += step) out[i] = out[i]! ^ 0x8000; // float16/bfloat16/complex32 sign bit
  } else if (out instanceof Uint8Array && dtype.startsWith('float8')) {
    for (let i = start; i < out.length; i += step) out[i] = out[i]! ^ 0x80;
  } else {
    const a = out as Exclude<TypedArray, BigInt64Array | BigUint64Array>;
    for (let i = start; i < a.length; i += step) a[i] = -a[i]!;
  }
  return out;
}

/** DTYPE_LOSSY (strict mode) and DTYPE_UNSUPPORTED become checkpoint errors naming the tensor; others pass. */
function asCheckpointError(e: unknown, name: string): unknown {
  if (!isDeviceError(e) || (e.code !== 'DTYPE_LOSSY' && e.code !== 'DTYPE_UNSUPPORTED')) return e;
  const code = e.code === 'DTYPE_LOSSY' ? 'TENSOR_LOSSY_DTYPE' : 'TENSOR_UNSUPPORTED';
  return new CheckpointError(code, `tensor ${quote(name)}: ${e.message}`, { cause: e, details: e.details });
}

/**
 * Runs widening conversions (float16, bfloat16, int8, … to 4-byte TF.js elements) somewhere other
 * than the calling thread, in place in buffers it allocates. The Node entry supplies one backed by
 * worker threads (`convert-workers.ts`); without one, conversions run where the tensor is materialised.
 */
export interface WideningConverter {
  /** Conversions it runs at once (0: none, everything converts where it is materialised). */
  readonly threads: number;
  /**
   * The buffer (`byteLength` bytes, the storage widened) that a storage of `storageBytes` bytes of
   * `dtype` is read into when the converter will widen it (memory its threads share), else `undefined`.
   */
  allocate(byteLength: number, storageBytes: number, dtype: TorchDType): ArrayBufferLike | undefined;
  /** Whether it takes these elements of `dtype`: in a buffer it allocated, large enough to send away. */
  accepts(elements: Uint8Array, dtype: TorchDType): boolean;
  /**
   * `toTensorData(elements, dtype, 'convert', { overwrite: true })`, run elsewhere: the same values,
   * in the same buffer. The caller gives up `elements` and the bytes before them in their buffer.
   */
  widen(elements: Uint8Array, dtype: TorchDType): Promise<TensorData>;
}

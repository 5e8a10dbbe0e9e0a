/**
 * The values `load()` returns, made ready for a writer (`save`, `saveSafetensors`, `saveSharded`)
 * and for `diff`: TF.js tensors read back through their backend in their original torch dtype, raw
 * tensors with their bits, storages and views (shared storages stay shared), and the Python
 * containers of pickle/values.ts, flattened to named tensor leaves over numbered storages.
 *
 * @module
 */

import {
  dtypeInfo,
  fromTensorData,
  MetaTensor,
  quote,
  toTensorData,
  type DeviceRuntime,
  type TensorValues,
  type TorchDType,
} from '@x/device';
import { CheckpointError } from '../errors.js';
import {
  gather,
  isContiguous,
  numel,
  RawTensor,
  tensorInfo,
  type RawQuantizer,
  type SparseTensors,
} from './materialise.js';
import { markNumpyScalar, numpyScalarModule, numpyScalarType } from '../pickle/numpy.js';
import {
  contiguousStrides,
  isTensorKind,
  type MetaTensorRef,
  type QuantizedTensorRef,
  type SparseTensorRef,
} from '../pickle/tensor-refs.js';
import {
  isFloat,
  isTensorRef,
  markFloat,
  OrderedDict,
  PyObject,
  Tuple,
  type StorageRef,
  type TensorRef,
} from '../pickle/values.js';
import type { Progress } from '../progress.js';

/** The floating dtypes `castFloating` may produce (and the ones it converts). */
export type FloatingDType = 'float32' | 'float16' | 'bfloat16';

/** The part of a TF.js tensor the writer uses (any `tf.Tensor` has it). */
export interface TfTensorLike {
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly dataId: object;
  data(): Promise<unknown>;
}

/** Options of {@link prepareValue} and {@link save}. */
export interface PrepareOptions {
  /** Write each storage's device (`cuda:0`, …) instead of `cpu`. TF.js tensors then need `runtime`. */
  readonly keepLocations?: boolean;
  /** The runtime the tensors were placed with: tells the device of each TF.js tensor. */
  readonly runtime?: DeviceRuntime;
  /** Bytes of the storages of {@link TensorRef} leaves (e.g. `container.readStorage`). */
  readonly storageBytes?: (storage: StorageRef) => Promise<Uint8Array> | Uint8Array;
  /** Convert every float64/float32/float16/bfloat16 storage to this dtype (views stay views). */
  readonly castFloating?: FloatingDType;
  /** Called as each storage is read for writing, the first time it is read (a storage read again adds nothing). */
  readonly onProgress?: (progress: Progress) => void;
}

/** A tensor leaf of a prepared value: where it is and its reference. */
export interface PreparedTensor {
  /** Dict keys and list indices from the top-level value, joined with `.`. */
  readonly name: string;
  readonly ref: TensorRef;
}

/** A value ready to pickle: every tensor replaced by a {@link TensorRef}, with the storages' bytes. */
export interface PreparedValue {
  /** The value with {@link TensorRef} leaves (containers rebuilt; identity and float marks kept). */
  readonly value: unknown;
  /** Every tensor leaf in depth-first order (a tensor reached twice is listed at each path, same `ref`). */
  readonly tensors: readonly PreparedTensor[];
  /** A storage's bytes, little-endian, `storage.byteLength` long; read when asked, not cached. */
  storageBytes(storage: StorageRef): Promise<Uint8Array>;
  /** The C-contiguous bytes of one tensor (its view gathered out of the storage). */
  contiguous(ref: TensorRef): Promise<Uint8Array>;
}

const FLOATING = new Set<TorchDType>(['float64', 'float32', 'float16', 'bfloat16']);
const TF_TO_TORCH: Readonly<Record<string, TorchDType>> = {
  float32: 'float32',
  int32: 'int32',
  bool: 'bool',
  complex64: 'complex64',
};

/** Whether `value` is a TF.js tensor (duck-typed: `tf.Tensor` from any copy of tfjs-core). */
export function isTfTensor(value: unknown): value is TfTensorLike {
  if (typeof value !== 'object' || value === null) return false;
  const t = value as Partial<TfTensorLike>;
  return (
    Array.isArray(t.shape) &&
    typeof t.dtype === 'string' &&
    typeof t.dataId === 'object' &&
    typeof t.data === 'function'
  );
}

/**
 * Replaces every tensor of `value` by a {@link TensorRef} over a storage whose bytes are read on
 * demand: TF.js tensors become one contiguous storage each (read through their backend and
 * converted back to their torch dtype), {@link TensorRef}s keep their storage and view. Containers
 * are rebuilt with the same sharing (an object reached twice maps to one copy) and float marks.
 */
export function prepareValue(value: unknown, options: PrepareOptions = {}): PreparedValue {
  return new Preparer(options).run(value);
}

class Preparer {
  private readonly copies = new Map<object, unknown>();
  private readonly storages = new Map<StorageRef, StorageRef>();
  private readonly sources = new Map<StorageRef, () => Promise<Uint8Array>>();
  private readonly tensors: PreparedTensor[] = [];
  /** Tensor descriptions made so far, with the strided data each lists in `tensors` (none for meta and sparse ones). */
  private readonly leaves = new Map<unknown, TensorRef | undefined>();
  private readonly rawViews = new Map<
    StorageRef,
    { view: TensorRef; data: ArrayBufferView; storage: Uint8Array | undefined }[]
  >();

  constructor(private readonly options: PrepareOptions) {}

  run(value: unknown): PreparedValue {
    const root = this.visit(value, []);
    const sources = this.sources;
    const report = this.progress();
    const storageBytes = async (storage: StorageRef): Promise<Uint8Array> => {
      const source = sources.get(storage);
      if (source === undefined)
        throw new CheckpointError('STORAGE_MISSING', `storage ${quote(storage.key)} is not part of this value`);
      const bytes = await source();
      if (bytes.length !== storage.byteLength) {
        throw new CheckpointError(
          'STORAGE_SIZE_MISMATCH',
          `storage ${quote(storage.key)} should be ${storage.byteLength} bytes, its source gave ${bytes.length}`,
        );
      }
      report?.(storage);
      return bytes;
    };
    return {
      value: root,
      tensors: this.tensors,
      storageBytes,
      contiguous: async (ref) => gather(await storageBytes(ref.storage), ref, dtypeInfo(ref.dtype).itemSize),
    };
  }

  /** Counts each storage once, with the tensor leaves over it, into `onProgress`. */
  private progress(): ((storage: StorageRef) => void) | undefined {
    const onProgress = this.options.onProgress;
    if (onProgress === undefined) return undefined;
    const leaves = new Map<StorageRef, number>();
    for (const t of this.tensors) leaves.set(t.ref.storage, (leaves.get(t.ref.storage) ?? 0) + 1);
    const bytesTotal = [...this.sources.keys()].reduce((n, s) => n + s.byteLength, 0);
    const seen = new Set<StorageRef>();
    let bytesDone = 0;
    let tensorsDone = 0;
    return (storage) => {
      if (seen.has(storage)) return;
      seen.add(storage);
      bytesDone += storage.byteLength;
      tensorsDone += leaves.get(storage) ?? 0;
      onProgress({ bytesDone, bytesTotal, tensorsDone, tensorsTotal: this.tensors.length });
    };
  }

  private visit(value: unknown, path: readonly (string | number)[]): unknown {
    if (typeof value !== 'object' || value === null) return value;
    const done = this.copies.get(value);
    if (done !== undefined) {
      const listed = this.leaves.get(done);
      if (listed !== undefined) this.tensors.push({ name: path.join('.'), ref: listed });
      return done;
    }
    if (isTfTensor(value)) return this.leaf(value, this.tfTensor(value), path);
    if (isTensorRef(value)) return this.leaf(value, this.tensorRef(value, path), path);
    if (value instanceof RawTensor)
      return value.quantizer === undefined
        ? this.leaf(value, this.rawTensor(value, fileRef(value), path), path)
        : this.rawQuantized(value, value.quantizer, path);
    if (value instanceof MetaTensor) return this.leaf(value, metaOf(value), path);
    if (isTensorKind(value, 'quantized')) return this.quantizedRef(value, path);
    if (isTensorKind(value, 'meta')) return this.leaf(value, value, path);
    if (isTensorKind(value, 'sparse') || isSparseTensors(value)) return this.sparse(value, path);
    if (isTensorKind(value, 'inline')) throw unsupported('saving inline (numpy) device tensors is not supported', path);
    if (value instanceof Map) {
      const copy: Map<unknown, unknown> = value instanceof OrderedDict ? new OrderedDict() : new Map();
      if (value instanceof OrderedDict && copy instanceof OrderedDict) copy.metadata = value.metadata;
      this.copies.set(value, copy);
      for (const [k, v] of value) {
        copy.set(k, this.visit(v, [...path, typeof k === 'number' || typeof k === 'string' ? k : String(k)]));
        copyMarks(value, copy, k);
      }
      return copy;
    }
    if (Array.isArray(value) && (value.constructor === Array || value.constructor === Tuple)) {
      const copy: unknown[] = value instanceof Tuple ? new Tuple() : [];
      this.copies.set(value, copy);
      this.visitItems(value, copy, path);
      return copy;
    }
    if (value instanceof PyObject) return this.pyObject(value, path);
    if (value instanceof Set) {
      const copy = new Set<unknown>();
      this.copies.set(value, copy);
      for (const member of value) copy.add(this.visit(member, path));
      return copy;
    }
    return value; // bytes, numpy arrays, DType, TorchSize, Device, Layout, StorageRef: written as they are (or refused by the pickler)
  }

  private visitItems(from: readonly unknown[], to: unknown[], path: readonly (string | number)[]): void {
    from.forEach((v: unknown, i) => {
      to.push(this.visit(v, [...path, i]));
      copyMarks(from, to, i);
    });
  }

  /** A record's copy: arguments, items and state visited (the state's keys continue the path, as `__dict__` does). */
  private pyObject(value: PyObject, path: readonly (string | number)[]): PyObject {
    const copy = new PyObject(value.module, value.name);
    this.copies.set(value, copy);
    copy.via = value.via;
    copy.keyed = value.keyed;
    if (value.args !== undefined) copy.args = this.visit(value.args, path) as unknown[];
    this.visitItems(value.items, copy.items, path);
    copy.state = this.visit(value.state, path);
    return copy;
  }

  /**
   * Registers a tensor description made for `original`; `desc` itself is listed in `tensors` when it
   * is strided, a quantized tensor's integer data when quantized, nothing for meta tensors.
   */
  private leaf<T extends TensorRef | QuantizedTensorRef | MetaTensorRef>(
    original: object,
    desc: T,
    path: readonly (string | number)[],
  ): T {
    const listed = isTensorRef(desc) ? desc : 'data' in desc ? desc.data : undefined;
    this.copies.set(original, desc);
    this.leaves.set(desc, listed);
    if (listed !== undefined) this.tensors.push({ name: path.join('.'), ref: listed });
    return desc;
  }

  /** A quantized tensor description given as such: its data and per-channel parameters read through `storageBytes`. */
  private quantizedRef(q: QuantizedTensorRef, path: readonly (string | number)[]): QuantizedTensorRef {
    const p = q.quantizer;
    const quantizer =
      'scales' in p
        ? {
            ...p,
            scales: this.strided(p.scales, [...path, 'scales']),
            zeroPoints: this.strided(p.zeroPoints, [...path, 'zeroPoints']),
          }
        : p;
    return this.leaf(
      q,
      { kind: 'quantized', data: this.tensorRef(q.data, path), quantizer, requiresGrad: q.requiresGrad },
      path,
    );
  }

  /**
   * A raw quantized tensor: its integer data and per-channel parameters go back onto the storages
   * of the file's description when it has one (else onto new contiguous storages).
   */
  private rawQuantized(t: RawTensor, q: RawQuantizer, path: readonly (string | number)[]): QuantizedTensorRef {
    const info = tensorInfo(t)?.ref;
    const file = info !== undefined && 'kind' in info && info.kind === 'quantized' ? info : undefined;
    const fileParams = file !== undefined && 'scales' in file.quantizer ? file.quantizer : undefined;
    const quantizer =
      'scales' in q
        ? {
            qscheme: q.qscheme,
            scales: this.rawTensor(q.scales, fileParams?.scales, [...path, 'scales']),
            zeroPoints: this.rawTensor(q.zeroPoints, fileParams?.zeroPoints, [...path, 'zeroPoints']),
            axis: q.axis,
          }
        : q;
    const data = this.rawTensor(t, file?.data, path);
    return this.leaf(t, { kind: 'quantized', data, quantizer, requiresGrad: file?.requiresGrad ?? false }, path);
  }

  /** A sparse tensor (loaded components, or a description): its component tensors visited. */
  private sparse(s: SparseTensors | SparseTensorRef, path: readonly (string | number)[]): SparseTensorRef {
    const part = (v: unknown, name: string): TensorRef => this.strided(v, [...path, name]);
    const out: SparseTensorRef =
      s.layout === 'sparse_coo'
        ? {
            kind: 'sparse',
            layout: s.layout,
            shape: s.shape,
            indices: part(s.indices, 'indices'),
            values: part(s.values, 'values'),
            coalesced: 'coalesced' in s ? s.coalesced : undefined,
          }
        : {
            kind: 'sparse',
            layout: s.layout,
            shape: s.shape,
            compressedIndices: part(s.compressedIndices, 'compressedIndices'),
            plainIndices: part(s.plainIndices, 'plainIndices'),
            values: part(s.values, 'values'),
          };
    this.copies.set(s, out);
    return out;
  }

  /** A component that must come out as a strided tensor. */
  private strided(v: unknown, path: readonly (string | number)[]): TensorRef {
    const ref = this.visit(v, path);
    if (!isTensorRef(ref))
      throw unsupported('a component of a sparse or quantized tensor must be a strided tensor with data', path);
    return ref;
  }

  private tensorRef(ref: TensorRef, path: readonly (string | number)[]): TensorRef {
    const r = ref as TensorRef & { neg?: unknown; conj?: unknown };
    if (r.neg === true || r.conj === true)
      throw unsupported('tensors with the negative or conjugate bit set are not supported', path);
    const read = this.options.storageBytes;
    if (read === undefined) {
      throw new CheckpointError(
        'STORAGE_MISSING',
        `the value holds a tensor reference at ${quote(path.join('.'))} but no storageBytes option reads its storage`,
      );
    }
    const storage = this.storage(ref.storage, ref.dtype, async () => read(ref.storage));
    return storage === ref.storage ? ref : { ...ref, storage, dtype: storage.dtype };
  }

  /**
   * A raw tensor loaded from a file goes back onto its original storage and view (the storage is
   * rebuilt from all raw views of it, so shared storages stay shared, over the whole storage the
   * load kept when no view covers it); one made by the caller gets a contiguous storage of its own.
   */
  private rawTensor(t: RawTensor, file: TensorRef | undefined, path: readonly (string | number)[]): TensorRef {
    const ref =
      file !== undefined && file.dtype === t.dtype
        ? (file as TensorRef & { neg?: unknown; conj?: unknown })
        : undefined;
    if (ref === undefined) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const base: StorageRef = {
        key: '',
        dtype: t.dtype,
        location: 'cpu',
        numel: numel(t.shape),
        byteLength: bytes.length,
      };
      const storage = this.storage(base, t.dtype, async () => bytes);
      return {
        storage,
        offset: 0,
        shape: [...t.shape],
        stride: contiguousStrides(t.shape),
        dtype: storage.dtype,
        requiresGrad: false,
        parameter: false,
      };
    }
    if (ref.neg === true || ref.conj === true)
      throw unsupported('tensors with the negative or conjugate bit set are not supported', path);
    const known = this.copies.get(ref);
    if (known !== undefined) return known as TensorRef;
    let views = this.rawViews.get(ref.storage);
    if (views === undefined) this.rawViews.set(ref.storage, (views = []));
    views.push({ view: ref, data: t.data, storage: tensorInfo(t)?.storage });
    const all = views;
    const storage = this.storage(ref.storage, ref.dtype, async () => {
      const whole = all.find(
        ({ view }) =>
          view.offset === 0 && numel(view.shape) === ref.storage.numel && isContiguous(view.shape, view.stride),
      );
      if (whole !== undefined) return new Uint8Array(whole.data.buffer, whole.data.byteOffset, whole.data.byteLength);
      const loaded = all.find((v) => v.storage?.byteLength === ref.storage.byteLength)?.storage;
      const out = loaded === undefined ? new Uint8Array(ref.storage.byteLength) : loaded.slice();
      for (const { view, data } of all)
        scatterView(out, view, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return out;
    });
    // a cast storage takes its new dtype; otherwise the view keeps its own (a v3 dtype over untyped bytes)
    const dtype = storage === ref.storage ? ref.dtype : storage.dtype;
    const out: TensorRef = {
      storage,
      offset: ref.offset,
      shape: ref.shape,
      stride: ref.stride,
      dtype,
      requiresGrad: ref.requiresGrad,
      parameter: ref.parameter,
    };
    this.copies.set(ref, out);
    return out;
  }

  private tfTensor(t: TfTensorLike): TensorRef {
    const info = tensorInfo(t);
    const torchDType = info?.torchDType ?? TF_TO_TORCH[t.dtype];
    const ref = info !== undefined && isTensorRef(info.ref) ? info.ref : undefined;
    if (torchDType === undefined) throw unsupported(`a TF.js tensor of dtype ${t.dtype} has no torch dtype`, []);
    const count = numel(t.shape);
    const { keepLocations, runtime } = this.options;
    if (keepLocations === true && runtime === undefined) {
      throw new CheckpointError(
        'TENSOR_UNSUPPORTED',
        'keepLocations needs the runtime option to tell which device a TF.js tensor is on',
      );
    }
    const location = keepLocations === true && runtime !== undefined ? String(runtime.deviceOf(t as never)) : 'cpu';
    const base: StorageRef = {
      key: '',
      dtype: torchDType,
      location,
      numel: count,
      byteLength: count * dtypeInfo(torchDType).itemSize,
    };
    const storage = this.storage(base, torchDType, async () =>
      fromTensorData((await t.data()) as TensorValues, torchDType),
    );
    return {
      storage,
      offset: 0,
      shape: [...t.shape],
      stride: contiguousStrides(t.shape),
      dtype: storage.dtype,
      requiresGrad: ref?.requiresGrad ?? false,
      parameter: ref?.parameter ?? false,
    };
  }

  /** Registers a storage's source once, cast to `castFloating` when the view reads it as its own dtype. */
  private storage(original: StorageRef, viewDType: TorchDType, read: () => Promise<Uint8Array>): StorageRef {
    const known = this.storages.get(original);
    if (known !== undefined) return known;
    const target = this.options.castFloating;
    let storage = original;
    let source = read;
    if (
      target !== undefined &&
      FLOATING.has(original.dtype) &&
      original.dtype === viewDType &&
      original.dtype !== target
    ) {
      storage = { ...original, dtype: target, byteLength: original.numel * dtypeInfo(target).itemSize };
      source = async () => castBytes(await read(), original.dtype, target);
    }
    this.storages.set(original, storage);
    this.sources.set(storage, source);
    return storage;
  }
}

/** The strided description a raw tensor was loaded from, if any. */
function fileRef(t: RawTensor): TensorRef | undefined {
  const ref = tensorInfo(t)?.ref;
  return ref !== undefined && isTensorRef(ref) ? ref : undefined;
}

/**
 * A meta tensor's description: the file's (a meta tensor, or the geometry of a strided tensor
 * loaded onto `meta`), else its shape with contiguous strides.
 */
function metaOf(t: MetaTensor): MetaTensorRef {
  const info = tensorInfo(t);
  const ref = info?.ref;
  if (ref !== undefined && 'kind' in ref && ref.kind === 'meta') return ref;
  const strided = ref !== undefined && isTensorRef(ref) ? ref : undefined;
  const dtype = info?.torchDType ?? TF_TO_TORCH[t.dtype];
  if (dtype === undefined) throw unsupported(`a meta tensor of dtype ${t.dtype} has no torch dtype`, []);
  return {
    kind: 'meta',
    dtype,
    shape: [...t.shape],
    stride: strided?.stride ?? contiguousStrides(t.shape),
    requiresGrad: strided?.requiresGrad ?? false,
  };
}

/** Copies the float and numpy-scalar marks of `from[slot]` to `to[slot]`. */
function copyMarks(from: object, to: object, slot: unknown): void {
  if (isFloat(from, slot)) markFloat(to, slot);
  const numpy = numpyScalarType(from, slot);
  if (numpy !== undefined) markNumpyScalar(to, slot, numpy, numpyScalarModule(from, slot));
}

/** Whether `value` is a sparse tensor as `load` returns it (component tensors and a layout). */
function isSparseTensors(value: object): value is SparseTensors {
  return (
    !(value instanceof Map) &&
    'layout' in value &&
    typeof value.layout === 'string' &&
    value.layout.startsWith('sparse_') &&
    'values' in value &&
    'shape' in value
  );
}

function unsupported(what: string, path: readonly (string | number)[]): CheckpointError {
  return new CheckpointError('TENSOR_UNSUPPORTED', path.length === 0 ? what : `${what} (at ${quote(path.join('.'))})`);
}

/** Converts floating element bytes to another floating dtype (through float32, as `Tensor.to` rounds). */
function castBytes(bytes: Uint8Array, from: TorchDType, to: FloatingDType): Uint8Array {
  return fromTensorData(toTensorData(bytes, from, 'convert').values, to);
}

/** Calls `each(storageElement, contiguousIndex)` for every element of a strided view, in C order. */
function forEachElement(
  view: Pick<TensorRef, 'offset' | 'shape' | 'stride'>,
  each: (from: number, n: number) => void,
): void {
  const count = numel(view.shape);
  const rank = view.shape.length;
  const index = new Array<number>(rank).fill(0);
  let from = view.offset;
  for (let n = 0; n < count; n++) {
    each(from, n);
    for (let d = rank - 1; d >= 0; d--) {
      from += view.stride[d]!;
      if (++index[d]! < view.shape[d]!) break;
      from -= view.stride[d]! * view.shape[d]!;
      index[d] = 0;
    }
  }
}

/** The inverse of {@link gather}: writes a view's C-contiguous `elements` into `storage`. */
export function scatterView(
  storage: Uint8Array,
  view: Pick<TensorRef, 'offset' | 'shape' | 'stride' | 'dtype'>,
  elements: Uint8Array,
): void {
  const item = dtypeInfo(view.dtype).itemSize;
  if (numel(view.shape) === 0) return;
  if (isContiguous(view.shape, view.stride)) {
    storage.set(elements, view.offset * item);
    return;
  }
  forEachElement(view, (to, n) => storage.set(elements.subarray(n * item, (n + 1) * item), to * item));
}

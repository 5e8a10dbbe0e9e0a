/**
 * A protocol-2 pickler that emits, byte for byte, what CPython 3.11's C pickler emits for
 * `torch.save` (torch 1.13, `torch/serialization.py` `_save`) of the same Python value.
 *
 * Memo identity. CPython memoizes by object identity; JavaScript strings have none, so:
 * - strings of the value (dict keys, values, `'storage'`, `'cpu'`, `'latin1'`) share one memo by
 *   value, as interned literals do in Python;
 * - strings torch builds afresh are never reused: a storage key (`str(n)`, shared only by the
 *   references to the same storage), a location with an index (`'cuda:' + str(i)`), the device
 *   type of `torch.device(...)`, and the latin-1 text of a `bytes` longer than one byte;
 * - `bytes` of length 0 or 1 are CPython singletons, memoized by value, and so are the one-character
 *   strings C code makes (the latin-1 text of such bytes, a numpy dtype's byte-order character);
 * - torch layouts are singletons, memoized by name, and so are numpy's built-in dtypes (by `dtype.str`);
 * - other objects by identity.
 *
 * @module
 */

import { Device, dtypeInfo, type TypedArray } from '@x/device';
import { CheckpointError } from '../errors.js';
import { PyGlobal } from './globals.js';
import {
  numpyArrayBytes,
  numpyInfo,
  numpyScalarBytes,
  numpyScalarModule,
  numpyScalarType,
  parseDTypeStr,
  type NumpyInfo,
} from './numpy.js';
import { OP } from './opcodes.js';
import { sameStorage } from './storage.js';
import {
  isTensorKind,
  Layout,
  type LayoutName,
  type MetaTensorRef,
  type QuantizedTensorRef,
  type SparseTensorRef,
} from './tensor-refs.js';
import {
  DType,
  isFloat,
  isStorageRef,
  isTensorRef,
  OrderedDict,
  PyObject,
  TorchSize,
  Tuple,
  type StorageRef,
  type TensorRef,
} from './values.js';

/** Options of {@link pickle}. */
export interface PickleOptions {
  /** Location string written for a storage; the default keeps the saved `storage.location`. */
  readonly location?: (storage: StorageRef) => string;
  /** Deepest container nesting accepted (CPython's recursion limit is about 1000). Default 1000. */
  readonly maxDepth?: number;
  /**
   * Sparse tensors as torch 1.13 writes them: CSR by `_rebuild_sparse_csr_tensor` (which torch 2.x's
   * `weights_only` refuses) instead of torch ≥ 2.0's `_rebuild_sparse_tensor`, COO without the
   * `is_coalesced` torch ≥ 2.0 adds (1.13 unpacks exactly three values). Default false.
   */
  readonly sparseAs113?: boolean;
}

/** A storage referenced by the pickle, with the key its persistent id names. */
export interface PickledStorage {
  /** `'0'`, `'1'`, … in order of first encounter; the record is `data/<key>`. */
  readonly key: string;
  readonly storage: StorageRef;
}

/** What {@link pickle} returns. */
export interface PickleResult {
  /** The `data.pkl` bytes. */
  readonly bytes: Uint8Array;
  /** Distinct storages in first-encounter order (keys `'0'`, `'1'`, …). */
  readonly storages: readonly PickledStorage[];
}

const BATCHSIZE = 1000;

/**
 * Pickles `value` at protocol 2 as `torch.save` does, replacing every storage by its persistent id
 * `('storage', torch.<Name>Storage, key, location, numel)` with keys numbered by first encounter.
 *
 * Accepted values: `null`, booleans, numbers (integral and not {@link isFloat}-marked → int, else
 * float; `-0` and integral numbers beyond 2^53 are floats), bigints, strings, `Uint8Array` (bytes),
 * arrays (list), {@link Tuple}, `Set` (set), `Map` (dict), {@link OrderedDict} (with `_metadata`),
 * {@link TensorRef}, `QuantizedTensorRef`, `SparseTensorRef`, `MetaTensorRef`, {@link StorageRef},
 * {@link DType}, {@link TorchSize}, `Device`, `Layout`, `PyGlobal` (a global as a value),
 * {@link PyObject} records (REDUCE or NEWOBJ, items, BUILD state), numpy arrays (typed arrays that
 * `numpyInfo` knows) and numpy scalars (slots marked by `markNumpyScalar`). Anything else throws
 * `CheckpointError` `PICKLE_TYPE`.
 */
export function pickle(value: unknown, options: PickleOptions = {}): PickleResult {
  const p = new Pickler(options);
  p.out.byte(OP.PROTO);
  p.out.byte(2);
  p.save(value, undefined, undefined, 0);
  p.out.byte(OP.STOP);
  return { bytes: p.out.finish(), storages: p.storages };
}

class Pickler {
  readonly out = new ByteBuilder();
  readonly storages: PickledStorage[] = [];
  private readonly keys = new Map<StorageRef, string>();
  private memoSize = 0;
  private readonly byObject = new Map<object, number>();
  private readonly byString = new Map<string, number>();
  private readonly byGlobal = new Map<string, number>();
  private readonly byKeyOf = new Map<StorageRef, number>();
  private readonly byLatin1Char = new Map<string, number>();
  private readonly bySmallBytes = new Map<number, number>();
  private readonly byLayout = new Map<LayoutName, number>();
  private readonly byNumpyDType = new Map<string, number>();
  private readonly location: (storage: StorageRef) => string;
  private readonly maxDepth: number;
  private readonly sparseAs113: boolean;

  constructor(options: PickleOptions) {
    this.location = options.location ?? ((s) => s.location);
    this.maxDepth = options.maxDepth ?? 1000;
    this.sparseAs113 = options.sparseAs113 ?? false;
  }

  save(value: unknown, container: object | undefined, slot: unknown, depth: number): void {
    if (depth > this.maxDepth) {
      throw new CheckpointError('PICKLE_LIMIT', `value nesting deeper than ${this.maxDepth} levels`, {
        details: { limit: this.maxDepth },
      });
    }
    const numpyScalar = container === undefined ? undefined : numpyScalarType(container, slot);
    if (container !== undefined && numpyScalar !== undefined && isScalar(value)) {
      this.numpyScalar(value, numpyScalar, numpyScalarModule(container, slot));
      return;
    }
    switch (typeof value) {
      case 'boolean':
        this.out.byte(value ? OP.NEWTRUE : OP.NEWFALSE);
        return;
      case 'number':
        if (isPythonInt(value) && !(container !== undefined && isFloat(container, slot))) this.int(BigInt(value));
        else this.float(value);
        return;
      case 'bigint':
        this.int(value);
        return;
      case 'string':
        this.str(value, this.byString);
        return;
      case 'object':
        if (value === null) {
          this.out.byte(OP.NONE);
          return;
        }
        this.object(value, depth);
        return;
      default:
        throw unsupported(typeof value);
    }
  }

  private object(value: object, depth: number): void {
    if (isStorageRef(value)) {
      this.persistentId(value, false);
      return;
    }
    const seen = this.byObject.get(value);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    const d = depth + 1;
    const numpy = ArrayBuffer.isView(value) ? numpyInfo(value) : undefined;
    if (numpy !== undefined) this.ndarray(value as TypedArray, numpy);
    else if (value instanceof Uint8Array) this.bytes(value);
    else if (isTensorRef(value)) this.tensor(value);
    else if (isTensorKind(value, 'quantized')) this.quantized(value, d);
    else if (isTensorKind(value, 'sparse')) this.sparse(value, d);
    else if (isTensorKind(value, 'meta')) this.meta(value);
    else if (value instanceof DType) this.global('torch', value.name, undefined);
    else if (value instanceof Device) this.device(value);
    else if (value instanceof Layout) this.layout(value.name);
    else if (value instanceof PyGlobal) this.global(value.module, value.name, value);
    else if (value instanceof TorchSize) this.torchSize(value, value);
    else if (value instanceof OrderedDict) this.orderedDict(value, d);
    else if (value instanceof Map) this.dict(value, d);
    else if (value instanceof Set)
      this.reduce('builtins', 'set', () => this.freshTuple(1, () => this.list([...value], d)), value);
    else if (value instanceof Tuple) this.tuple(value, d);
    else if (Array.isArray(value)) this.list(value, d);
    else if (value instanceof PyObject) this.pyObject(value, d);
    else throw unsupported(Object.prototype.toString.call(value).slice(8, -1));
  }

  // ---- atoms ----

  private int(v: bigint): void {
    if (v >= 0n && v <= 0xffn) {
      this.out.byte(OP.BININT1);
      this.out.byte(Number(v));
    } else if (v >= 0n && v <= 0xffffn) {
      this.out.byte(OP.BININT2);
      this.out.u16(Number(v));
    } else if (v >= -0x80000000n && v <= 0x7fffffffn) {
      this.out.byte(OP.BININT);
      this.out.u32(Number(v) >>> 0);
    } else {
      const bytes = longBytes(v);
      if (bytes.length < 256) {
        this.out.byte(OP.LONG1);
        this.out.byte(bytes.length);
      } else {
        this.out.byte(OP.LONG4);
        this.out.u32(bytes.length);
      }
      this.out.bytes(bytes);
    }
  }

  private float(v: number): void {
    this.out.byte(OP.BINFLOAT);
    this.out.f64be(v);
  }

  /** BINUNICODE + memo, reusing an earlier equal string of the same `pool` (undefined: always fresh). */
  private str(v: string, pool: Map<string, number> | undefined): void {
    const seen = pool?.get(v);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    const utf8 = encodeSurrogatePass(v);
    this.out.byte(OP.BINUNICODE);
    this.out.u32(utf8.length);
    this.out.bytes(utf8);
    const index = this.put();
    pool?.set(v, index);
  }

  private bytes(v: Uint8Array): void {
    const small = v.length <= 1 ? (v[0] ?? -1) : undefined;
    const seen = small === undefined ? undefined : this.bySmallBytes.get(small);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    if (v.length === 0) {
      this.global('__builtin__', 'bytes', undefined);
      this.out.byte(OP.EMPTY_TUPLE);
    } else {
      this.global('_codecs', 'encode', undefined);
      const text = latin1Text(v);
      this.str(text, v.length === 1 ? this.byLatin1Char : undefined);
      this.str('latin1', this.byString);
      this.out.byte(OP.TUPLE2);
      this.put();
    }
    this.out.byte(OP.REDUCE);
    const index = this.put(v);
    if (small !== undefined) this.bySmallBytes.set(small, index);
  }

  // ---- containers ----

  private list(v: readonly unknown[], depth: number): void {
    this.out.byte(OP.EMPTY_LIST);
    this.put(v);
    if (v.length === 1) {
      this.save(v[0], v, 0, depth);
      this.out.byte(OP.APPEND);
      return;
    }
    for (let start = 0; start < v.length; start += BATCHSIZE) {
      this.out.byte(OP.MARK);
      const end = Math.min(v.length, start + BATCHSIZE);
      for (let i = start; i < end; i++) this.save(v[i], v, i, depth);
      this.out.byte(OP.APPENDS);
    }
  }

  /** `batch_dict_exact`: one item is SETITEM; otherwise batches, plus an empty batch after a full one. */
  private dict(v: ReadonlyMap<unknown, unknown>, depth: number): void {
    this.out.byte(OP.EMPTY_DICT);
    this.put(v);
    if (v.size === 0) return;
    const entries = [...v];
    if (entries.length === 1) {
      this.item(v, entries[0]!, depth);
      this.out.byte(OP.SETITEM);
      return;
    }
    let start = 0;
    let n: number;
    do {
      this.out.byte(OP.MARK);
      const end = Math.min(entries.length, start + BATCHSIZE);
      for (let i = start; i < end; i++) this.item(v, entries[i]!, depth);
      n = end - start;
      start = end;
      this.out.byte(OP.SETITEMS);
    } while (n === BATCHSIZE);
  }

  /** `OrderedDict.__reduce__`: REDUCE, items by `batch_dict` (iterator rules), then `_metadata` BUILD. */
  private orderedDict(v: OrderedDict, depth: number): void {
    this.reduce('collections', 'OrderedDict', () => this.out.byte(OP.EMPTY_TUPLE), v);
    const entries = [...v];
    this.batches(entries.length, (i) => this.item(v, entries[i]!, depth), OP.SETITEM, OP.SETITEMS);
    if (v.metadata !== undefined) {
      this.out.byte(OP.EMPTY_DICT);
      this.put();
      this.str('_metadata', this.byString);
      this.save(v.metadata, undefined, undefined, depth);
      this.out.byte(OP.SETITEM);
      this.out.byte(OP.BUILD);
    }
  }

  /** CPython's `batch_list` / `batch_dict` over an iterator: batches of 1000, a batch of one written with `one`. */
  private batches(n: number, each: (i: number) => void, one: number, many: number): void {
    for (let start = 0; start < n; start += BATCHSIZE) {
      const end = Math.min(n, start + BATCHSIZE);
      if (end - start === 1) {
        each(start);
        this.out.byte(one);
      } else {
        this.out.byte(OP.MARK);
        for (let i = start; i < end; i++) each(i);
        this.out.byte(many);
      }
    }
  }

  private item(container: object, [key, value]: [unknown, unknown], depth: number): void {
    this.save(key, undefined, undefined, depth);
    this.save(value, container, key, depth);
  }

  private tuple(v: Tuple, depth: number): void {
    if (v.length === 0) {
      this.out.byte(OP.EMPTY_TUPLE);
      return;
    }
    if (v.length > 3) this.out.byte(OP.MARK);
    for (let i = 0; i < v.length; i++) this.save(v[i], v, i, depth);
    const recursive = this.byObject.get(v);
    if (recursive !== undefined) {
      if (v.length > 3) this.out.byte(OP.POP_MARK);
      else for (let i = 0; i < v.length; i++) this.out.byte(OP.POP);
      this.get(recursive);
      return;
    }
    this.out.byte(v.length > 3 ? OP.TUPLE : TUPLE_N[v.length]!);
    this.put(v);
  }

  /** A tuple object made on the fly (no identity shared with anything) whose `n` items `items()` saves. */
  private freshTuple(n: number, items: () => void): void {
    if (n === 0) {
      this.out.byte(OP.EMPTY_TUPLE);
      return;
    }
    if (n > 3) this.out.byte(OP.MARK);
    items();
    this.out.byte(n > 3 ? OP.TUPLE : TUPLE_N[n]!);
    this.put();
  }

  /** A fresh tuple of ints (a size, a stride). */
  private ints(v: readonly number[]): void {
    this.freshTuple(v.length, () => {
      for (const n of v) this.int(BigInt(n));
    });
  }

  // ---- torch objects ----

  /** GLOBAL, with Python 3 module names written as protocol 2 does (`fix_imports`). */
  private global(module: string, name: string, obj: object | undefined): void {
    const key = `${PY2_MODULES.get(module) ?? module}\n${name}`;
    const seen = this.byGlobal.get(key);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    this.out.byte(OP.GLOBAL);
    this.out.bytes(encodeSurrogatePass(`${key}\n`));
    this.byGlobal.set(key, this.put(obj));
  }

  /** `save_reduce(func, args)` with `obj` memoized afterwards (undefined: a fresh object); returns its memo index. */
  private reduce(module: string, name: string, args: () => void, obj: object | undefined): number {
    this.global(module, name, undefined);
    args();
    this.out.byte(OP.REDUCE);
    return this.put(obj);
  }

  /** `torch.Size.__reduce__`: `(torch.Size, (tuple(self),))`. */
  private torchSize(shape: readonly number[], obj: object | undefined): void {
    this.reduce('torch', 'Size', () => this.freshTuple(1, () => this.ints(shape)), obj);
  }

  /** `torch.serialization._get_layout(str(layout))`; a layout is a singleton. */
  private layout(name: LayoutName): void {
    const seen = this.byLayout.get(name);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    this.byLayout.set(
      name,
      this.reduce(
        'torch.serialization',
        '_get_layout',
        () => this.freshTuple(1, () => this.str(`torch.${name}`, undefined)),
        undefined,
      ),
    );
  }

  /** An unknown class's record as the pickle made it: class, args, REDUCE or NEWOBJ, items, state. */
  private pyObject(v: PyObject, depth: number): void {
    this.global(v.module, v.name, undefined);
    const args = v.args ?? [];
    if (args instanceof Tuple) this.tuple(args, depth);
    else
      this.freshTuple(args.length, () => {
        for (const [i, a] of args.entries()) this.save(a, args, i, depth);
      });
    this.out.byte(v.via === 'newobj' ? OP.NEWOBJ : OP.REDUCE);
    this.put(v);
    const items = v.items;
    const keyed = (i: number): void => {
      const p = pair(items[i]);
      this.save(p[0], p, 0, depth);
      this.save(p[1], p, 1, depth);
    };
    if (v.keyed) this.batches(items.length, keyed, OP.SETITEM, OP.SETITEMS);
    else this.batches(items.length, (i) => this.save(items[i], items, i, depth), OP.APPEND, OP.APPENDS);
    if (v.state !== undefined) {
      this.save(v.state, undefined, undefined, depth);
      this.out.byte(OP.BUILD);
    }
  }

  private device(v: Device): void {
    this.reduce(
      'torch',
      'device',
      () => {
        this.str(v.type, undefined);
        if (v.index === undefined) this.out.byte(OP.TUPLE1);
        else {
          this.int(BigInt(v.index));
          this.out.byte(OP.TUPLE2);
        }
        this.put();
      },
      v,
    );
  }

  private emptyOrderedDict(): void {
    this.reduce('collections', 'OrderedDict', () => this.out.byte(OP.EMPTY_TUPLE), undefined);
  }

  /** `_rebuild_qtensor(storage, offset, size, stride, quantizer_params, requires_grad, hooks)`. */
  private quantized(q: QuantizedTensorRef, depth: number): void {
    const t = q.data;
    const p = q.quantizer;
    this.reduce(
      'torch._utils',
      '_rebuild_qtensor',
      () => {
        this.out.byte(OP.MARK);
        this.persistentId(t.storage, false);
        this.int(BigInt(t.offset));
        this.ints(t.shape);
        this.ints(t.stride);
        if ('scales' in p) {
          this.freshTuple(4, () => {
            this.global('torch', p.qscheme, undefined);
            this.save(p.scales, undefined, undefined, depth);
            this.save(p.zeroPoints, undefined, undefined, depth);
            this.int(BigInt(p.axis));
          });
        } else {
          this.freshTuple(3, () => {
            this.global('torch', p.qscheme, undefined);
            this.float(p.scale);
            this.int(BigInt(p.zeroPoint));
          });
        }
        this.out.byte(q.requiresGrad ? OP.NEWTRUE : OP.NEWFALSE);
        this.emptyOrderedDict();
        this.out.byte(OP.TUPLE);
        this.put();
      },
      q,
    );
  }

  /**
   * `_rebuild_sparse_tensor(layout, (indices, values, size[, is_coalesced]))` as torch ≥ 2.0 writes
   * it; with `sparseAs113` CSR as 1.13 wrote it (`_rebuild_sparse_csr_tensor`) and COO without `is_coalesced`.
   */
  private sparse(s: SparseTensorRef, depth: number): void {
    const parts = s.layout === 'sparse_coo' ? [s.indices, s.values] : [s.compressedIndices, s.plainIndices, s.values];
    const coalesced = s.layout === 'sparse_coo' && !this.sparseAs113 ? s.coalesced : undefined;
    this.reduce(
      'torch._utils',
      s.layout === 'sparse_csr' && this.sparseAs113 ? '_rebuild_sparse_csr_tensor' : '_rebuild_sparse_tensor',
      () => {
        this.layout(s.layout);
        this.freshTuple(parts.length + (coalesced === undefined ? 1 : 2), () => {
          for (const part of parts) this.save(part, undefined, undefined, depth);
          this.torchSize(s.shape, undefined);
          if (coalesced !== undefined) this.out.byte(coalesced ? OP.NEWTRUE : OP.NEWFALSE);
        });
        this.out.byte(OP.TUPLE2);
        this.put();
      },
      s,
    );
  }

  /** `_rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad)`. */
  private meta(m: MetaTensorRef): void {
    this.reduce(
      'torch._utils',
      '_rebuild_meta_tensor_no_storage',
      () => {
        this.out.byte(OP.MARK);
        this.global('torch', m.dtype, undefined);
        this.ints(m.shape);
        this.ints(m.stride);
        this.out.byte(m.requiresGrad ? OP.NEWTRUE : OP.NEWFALSE);
        this.out.byte(OP.TUPLE);
        this.put();
      },
      m,
    );
  }

  private tensor(t: TensorRef): void {
    if (t.parameter) {
      this.reduce(
        'torch._utils',
        '_rebuild_parameter',
        () => {
          this.tensorData(t, false, undefined);
          this.out.byte(t.requiresGrad ? OP.NEWTRUE : OP.NEWFALSE);
          this.emptyOrderedDict();
          this.out.byte(OP.TUPLE3);
          this.put();
        },
        t,
      );
    } else {
      this.tensorData(t, t.requiresGrad, t);
    }
  }

  /** `_rebuild_tensor_v2` (dtype with a legacy Storage class) or `_rebuild_tensor_v3` (newer dtypes). */
  private tensorData(t: TensorRef, requiresGrad: boolean, obj: TensorRef | undefined): void {
    const v3 = t.dtype !== t.storage.dtype || dtypeInfo(t.dtype).storageName === undefined;
    this.reduce(
      'torch._utils',
      v3 ? '_rebuild_tensor_v3' : '_rebuild_tensor_v2',
      () => {
        this.out.byte(OP.MARK);
        this.persistentId(t.storage, v3);
        this.int(BigInt(t.offset));
        this.ints(t.shape);
        this.ints(t.stride);
        this.out.byte(requiresGrad ? OP.NEWTRUE : OP.NEWFALSE);
        this.emptyOrderedDict();
        if (v3) this.global('torch', t.dtype, undefined);
        this.out.byte(OP.TUPLE);
        this.put();
      },
      obj,
    );
  }

  /** `('storage', storage_type, key, location, numel)` then BINPERSID; untyped storages count bytes. */
  private persistentId(storage: StorageRef, untyped: boolean): void {
    const same = sameStorage(storage);
    let key = this.keys.get(same);
    if (key === undefined) {
      key = String(this.storages.length);
      this.keys.set(same, key);
      this.storages.push({ key, storage });
    }
    const storageName = untyped ? undefined : dtypeInfo(storage.dtype).storageName;
    this.out.byte(OP.MARK);
    this.str('storage', this.byString);
    if (storageName === undefined) this.global('torch.storage', 'UntypedStorage', undefined);
    else this.global('torch', storageName, undefined);
    const keyMemo = this.byKeyOf.get(same);
    if (keyMemo === undefined) {
      this.str(key, undefined);
      this.byKeyOf.set(same, this.memoSize - 1);
    } else {
      this.get(keyMemo);
    }
    const location = this.location(storage);
    this.str(location, location.includes(':') ? undefined : this.byString);
    this.int(BigInt(storageName === undefined ? storage.byteLength : storage.numel));
    this.out.byte(OP.TUPLE);
    this.put();
    this.out.byte(OP.BINPERSID);
  }

  // ---- numpy ----

  /**
   * `ndarray.__reduce__`: `_reconstruct(ndarray, (0,), b'b')`, then BUILD `(1, shape, dtype, is_fortran, rawdata)`;
   * `_reconstruct` from the module the array was read with (numpy 2's `numpy._core.multiarray` stays so).
   */
  private ndarray(array: TypedArray, info: NumpyInfo): void {
    this.reduce(
      info.module ?? NUMPY_MULTIARRAY,
      '_reconstruct',
      () => {
        this.global('numpy', 'ndarray', undefined);
        this.freshTuple(1, () => this.int(0n));
        this.bytes(DUMMY_TYPECODE);
        this.out.byte(OP.TUPLE3);
        this.put();
      },
      array,
    );
    this.out.byte(OP.MARK);
    this.int(1n);
    this.ints(info.shape);
    this.numpyDType(info.dtype);
    this.out.byte(info.fortranOrder ? OP.NEWTRUE : OP.NEWFALSE);
    this.bytes(numpyArrayBytes(array, info.dtype));
    this.out.byte(OP.TUPLE);
    this.put();
    this.out.byte(OP.BUILD);
  }

  /** `numpy.core.multiarray.scalar(dtype, bytes)`, or `scalar` from the module the value was read with. */
  private numpyScalar(value: unknown, dtype: string, module: string | undefined): void {
    this.reduce(
      module ?? NUMPY_MULTIARRAY,
      'scalar',
      () => {
        this.numpyDType(dtype);
        this.bytes(numpyScalarBytes(value, dtype));
        this.out.byte(OP.TUPLE2);
        this.put();
      },
      undefined,
    );
  }

  /** `dtype.__reduce__`: `numpy.dtype('f8', False, True)`, then BUILD `(3, endian, None, None, None, -1, -1, 0)`. */
  private numpyDType(str: string): void {
    const seen = this.byNumpyDType.get(str);
    if (seen !== undefined) {
      this.get(seen);
      return;
    }
    const d = parseDTypeStr(str);
    const index = this.reduce(
      'numpy',
      'dtype',
      () => {
        this.str(`${d.kind}${d.itemSize}`, undefined);
        this.out.byte(OP.NEWFALSE);
        this.out.byte(OP.NEWTRUE);
        this.out.byte(OP.TUPLE3);
        this.put();
      },
      undefined,
    );
    this.byNumpyDType.set(str, index);
    this.out.byte(OP.MARK);
    this.int(3n);
    this.str(d.byteOrder, this.byLatin1Char);
    for (let i = 0; i < 3; i++) this.out.byte(OP.NONE);
    this.int(-1n);
    this.int(-1n);
    this.int(0n);
    this.out.byte(OP.TUPLE);
    this.put();
    this.out.byte(OP.BUILD);
  }

  // ---- memo ----

  private put(obj?: object): number {
    const index = this.memoSize++;
    this.memoOp(OP.BINPUT, OP.LONG_BINPUT, index);
    if (obj !== undefined) this.byObject.set(obj, index);
    return index;
  }

  private get(index: number): void {
    this.memoOp(OP.BINGET, OP.LONG_BINGET, index);
  }

  /** A memo opcode with its index: the 1-byte form below 256, else the 4-byte form. */
  private memoOp(short: number, long: number, index: number): void {
    if (index < 256) {
      this.out.byte(short);
      this.out.byte(index);
    } else {
      this.out.byte(long);
      this.out.u32(index);
    }
  }
}

const TUPLE_N = [OP.EMPTY_TUPLE, OP.TUPLE1, OP.TUPLE2, OP.TUPLE3] as const;

/** `_compat_pickle.REVERSE_IMPORT_MAPPING` for the modules the unpickler renames back. */
const PY2_MODULES = new Map([
  ['builtins', '__builtin__'],
  ['copyreg', 'copy_reg'],
]);

/** Where numpy 1.x keeps `_reconstruct` and `scalar`, which numpy 2 still loads (as `numpy._core.multiarray`). */
const NUMPY_MULTIARRAY = 'numpy.core.multiarray';

/** The dummy type code numpy's `_reconstruct` is called with (`b'b'`). */
const DUMMY_TYPECODE = Uint8Array.of(0x62);

function unsupported(what: string): CheckpointError {
  return new CheckpointError(
    'PICKLE_TYPE',
    `cannot pickle a value of type ${what}: expected null, boolean, number, bigint, string, Uint8Array, Array, Tuple, Set, Map, OrderedDict, a tensor or storage description, DType, TorchSize, Device, Layout, PyGlobal, PyObject or a numpy array`,
  );
}

/** A value a numpy scalar can hold: a number, bigint, boolean or complex record. */
function isScalar(value: unknown): boolean {
  return (
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'boolean' ||
    (value instanceof PyObject && value.module === 'builtins' && value.name === 'complex')
  );
}

/** A `(key, value)` item of a record filled by SETITEM(S). */
function pair(item: unknown): readonly unknown[] {
  if (!Array.isArray(item) || item.length !== 2)
    throw new CheckpointError('PICKLE_TYPE', 'the items of a keyed PyObject must be (key, value) pairs');
  return item;
}

/** A JS number that round-trips as a Python int: integral, safe, and not `-0`. */
function isPythonInt(v: number): boolean {
  return Number.isSafeInteger(v) && !Object.is(v, -0);
}

/** CPython `save_long` at protocol ≥ 2: minimal little-endian two's complement. */
function longBytes(v: bigint): Uint8Array {
  const abs = v < 0n ? -v : v;
  let n = (abs.toString(2).length >> 3) + 1;
  let x = BigInt.asUintN(n * 8, v);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  if (v < 0n && n > 1 && out[n - 1] === 0xff && (out[n - 2]! & 0x80) !== 0) n--;
  return out.subarray(0, n);
}

/** `str(b, 'latin1')`: one code point per byte, built in slices that fit `fromCharCode`'s arguments. */
function latin1Text(v: Uint8Array): string {
  let text = '';
  for (let i = 0; i < v.length; i += 8192) text += String.fromCharCode(...v.subarray(i, i + 8192));
  return text;
}

const utf8 = new TextEncoder();
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** UTF-8 with CPython's `surrogatepass`: a lone surrogate becomes its 3-byte form, not U+FFFD. */
function encodeSurrogatePass(s: string): Uint8Array {
  if (!LONE_SURROGATE.test(s)) return utf8.encode(s);
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else out.push(...utf8.encode(ch));
  }
  return Uint8Array.from(out);
}

/** A growable little-endian byte buffer. */
class ByteBuilder {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.length++] = b;
  }

  u16(v: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }

  u32(v: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  f64be(v: number): void {
    this.reserve(8);
    this.view.setFloat64(this.length, v, false);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

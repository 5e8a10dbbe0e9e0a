/**
 * numpy values in pickles (optimizer states, RNG states, metrics): arrays become plain typed
 * arrays of their C-order (or Fortran-order, as stored) elements with their shape available from
 * {@link numpyInfo}; scalars become numbers, bigints or booleans whose container slot remembers the
 * numpy dtype ({@link numpyScalarType}). Only numeric dtypes are accepted. The encoders here give
 * a writer the bytes numpy pickles.
 *
 * @module
 */
import { float32ToHalf, halfToFloat32, type TypedArray } from '@x/device';
import { CheckpointError } from '../errors.js';
import { markFloat, PyObject, tuple } from './values.js';
import { Args, type Context } from './args.js';
import { FloatBox, NumpyScalarBox, Pending } from './boxes.js';
import type { PyGlobal } from './globals.js';
import { encodeLatin1, toNumberIfSafe } from './text.js';

/**
 * A numpy dtype as pickled (`numpy.dtype('f8', False, True)` + BUILD state). Read-only to users;
 * BUILD sets the byte order.
 */
export class NumpyDType {
  /** `<` little-endian, `>` big-endian, `|` not applicable (1-byte types). */
  byteOrder: '<' | '>' | '|';

  /**
   * @param kind - `f` float, `i` signed int, `u` unsigned int, `b` bool, `c` complex.
   * @param itemSize - bytes per element.
   */
  constructor(
    readonly kind: 'f' | 'i' | 'u' | 'b' | 'c',
    readonly itemSize: number,
  ) {
    this.byteOrder = itemSize === 1 ? '|' : '<';
  }

  /** numpy's `dtype.str`, e.g. `<f8`. */
  get str(): string {
    return `${this.byteOrder}${this.kind}${this.itemSize}`;
  }
}

/** Shape and layout of an array read from a numpy pickle. */
export interface NumpyInfo {
  readonly shape: readonly number[];
  /** numpy `dtype.str` of the stored data, e.g. `<f8` (the typed array holds it in host order). */
  readonly dtype: string;
  /** Elements are in Fortran (column-major) order. */
  readonly fortranOrder: boolean;
  /**
   * The module whose `_reconstruct` built it: `numpy.core.multiarray` (numpy 1.x) or
   * `numpy._core.multiarray` (numpy 2); a writer uses it, `numpy.core.multiarray` when absent.
   */
  readonly module?: string;
}

const infos = new WeakMap<object, NumpyInfo>();

/**
 * Shape, dtype and order of a typed array that came from a numpy array in a pickle; `undefined`
 * for any other value.
 */
export function numpyInfo(array: unknown): NumpyInfo | undefined {
  return typeof array === 'object' && array !== null ? infos.get(array) : undefined;
}

const SIZES: Readonly<Record<NumpyDType['kind'], readonly number[]>> = {
  f: [2, 4, 8],
  i: [1, 2, 4, 8],
  u: [1, 2, 4, 8],
  b: [1],
  c: [8, 16],
};

/** `numpy.dtype(typestr, align, copy)`. */
export function numpyDType(a: Args): NumpyDType {
  a.arity(1, 3);
  const m = /^([fiubc])([0-9]{1,2})$/.exec(a.str(0));
  const kind = m?.[1] as NumpyDType['kind'] | undefined;
  const size = Number(m?.[2]);
  if (kind === undefined || !SIZES[kind].includes(size)) {
    throw new CheckpointError(
      'PICKLE_TYPE',
      `numpy dtype '${a.str(0).slice(0, 8)}' is not supported (numeric dtypes only)`,
      a.ctx.where(),
    );
  }
  return new NumpyDType(kind, size);
}

/** BUILD on a numpy dtype: `(version, endian, subarray, names, fields, elsize, alignment, flags[, metadata])`. */
export function buildNumpyDType(dtype: NumpyDType, state: unknown, ctx: Context): NumpyDType {
  const a = new Args('numpy.dtype state', Array.isArray(state) ? state : [], ctx);
  if (!Array.isArray(state)) a.fail(0, 'a dtype state tuple');
  a.arity(8, 9);
  const endian = a.str(1);
  if (endian === '=') dtype.byteOrder = '<';
  else if (endian === '<' || endian === '>') dtype.byteOrder = endian;
  else if (endian !== '|') a.fail(1, "one of '<', '>', '|', '='");
  if (a.get(2) !== null || a.get(3) !== null || a.get(4) !== null) {
    throw new CheckpointError('PICKLE_TYPE', `structured or sub-array numpy dtypes are not supported`, ctx.where());
  }
  return dtype;
}

/** `numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')`: an array BUILD will fill. */
export function reconstruct(a: Args, origin: PyGlobal): Pending {
  a.arity(3);
  a.global(0, ['np.ndarray'], 'numpy.ndarray');
  return new Pending('ndarray', origin);
}

/** BUILD on a reconstructed array: `(version, shape, dtype, is_fortran, rawdata)`. */
export function buildNdarray(state: unknown, origin: PyGlobal, ctx: Context): TypedArray {
  const a = new Args('numpy.ndarray state', Array.isArray(state) ? state : [], ctx);
  if (!Array.isArray(state)) a.fail(0, 'an array state tuple');
  a.arity(5);
  const shape = a.ints(1).map((n) => (typeof n === 'number' && n >= 0 ? n : a.fail(1, 'a tuple of non-negative ints')));
  const dtype = a.get(2);
  if (!(dtype instanceof NumpyDType)) return a.fail(2, 'a numpy dtype');
  const fortranOrder = a.bool(3);
  const raw = rawBytes(a, 4);
  const count = shape.reduce((x, y) => x * y, 1);
  if (count * dtype.itemSize !== raw.length) {
    throw new CheckpointError(
      'PICKLE_TYPE',
      `numpy array of shape [${shape.join(', ')}] and dtype ${dtype.str} needs ${count * dtype.itemSize} bytes, the pickle has ${raw.length}`,
      ctx.where(),
    );
  }
  const array = typedArray(dtype, raw);
  infos.set(
    array,
    Object.freeze({ shape: Object.freeze(shape), dtype: dtype.str, fortranOrder, module: origin.module }),
  );
  return array;
}

/**
 * `numpy.core.multiarray.scalar(dtype, bytes)`: a number, bigint, bool or (complex) record, boxed
 * with its dtype until stored in a container (the slot is then marked, see {@link numpyScalarType}).
 */
export function numpyScalar(a: Args, origin: PyGlobal): NumpyScalarBox {
  a.arity(2);
  const dtype = a.get(0);
  if (!(dtype instanceof NumpyDType)) return a.fail(0, 'a numpy dtype');
  const raw = rawBytes(a, 1);
  if (raw.length !== dtype.itemSize) a.fail(1, `${dtype.itemSize} bytes`);
  return new NumpyScalarBox(scalarValue(dtype, typedArray(dtype, raw)), dtype.str, origin.module);
}

function scalarValue(dtype: NumpyDType, values: TypedArray): unknown {
  const first = values[0]!;
  if (dtype.kind === 'b') return first !== 0;
  if (dtype.kind === 'c') return complexRecord(values[0] as number, values[1] as number);
  if (typeof first === 'bigint') return toNumberIfSafe(first);
  if (dtype.kind === 'f') {
    const v = dtype.itemSize === 2 ? halfToFloat32(values as Uint16Array)[0]! : (first as number);
    return Number.isInteger(v) ? new FloatBox(v) : v;
  }
  return first;
}

/**
 * A Python `complex` as the record `PyObject('builtins', 'complex')` with `args` `(re, im)`, both
 * marked float.
 */
export function complexRecord(re: number, im: number): PyObject {
  const complex = new PyObject('builtins', 'complex');
  const args = tuple(re, im);
  markFloat(args, 0);
  markFloat(args, 1);
  complex.args = args;
  return complex;
}

/** A marked numpy scalar slot: its `dtype.str` and, when known, the module of its `scalar` global. */
interface ScalarMark {
  readonly dtype: string;
  readonly module: string | undefined;
}

const scalarTypes = new WeakMap<object, Map<unknown, ScalarMark>>();

/**
 * Records that `container[slot]` (an array index or a `Map` key) holds a numpy scalar of numpy
 * dtype `dtype` (`dtype.str`, e.g. `<f8`), so a writer saves it back as one. The unpickler marks
 * every numpy scalar it stores in a container, with the module its `scalar` global came from
 * (`numpy.core.multiarray` or numpy 2's `numpy._core.multiarray`); a writer uses that module,
 * `numpy.core.multiarray` when `module` is omitted.
 */
export function markNumpyScalar(container: object, slot: unknown, dtype: string, module?: string): void {
  let slots = scalarTypes.get(container);
  if (slots === undefined) scalarTypes.set(container, (slots = new Map()));
  slots.set(slot, { dtype, module });
}

/**
 * The numpy dtype (`dtype.str`) of the numpy scalar at `container[slot]`, or `undefined` when the
 * slot holds no numpy scalar.
 */
export function numpyScalarType(container: object, slot: unknown): string | undefined {
  return scalarTypes.get(container)?.get(slot)?.dtype;
}

/**
 * The module of the `scalar` global the numpy scalar at `container[slot]` was read with (see
 * {@link markNumpyScalar}), or `undefined` when none was recorded.
 */
export function numpyScalarModule(container: object, slot: unknown): string | undefined {
  return scalarTypes.get(container)?.get(slot)?.module;
}

/**
 * The bytes numpy pickles for a scalar of dtype `dtype` (`dtype.str`) holding `value` (a number,
 * bigint, boolean or {@link complexRecord}), in the dtype's byte order.
 */
export function numpyScalarBytes(value: unknown, dtype: string): Uint8Array {
  const d = parseDTypeStr(dtype);
  const parts = value instanceof PyObject && Array.isArray(value.args) ? value.args : [value];
  const unit = d.kind === 'c' ? d.itemSize / 2 : d.itemSize;
  const out = new Uint8Array(d.itemSize);
  const view = new DataView(out.buffer);
  const little = d.byteOrder !== '>';
  parts.slice(0, d.itemSize / unit).forEach((part, i) => {
    const at = i * unit;
    if (d.kind === 'f' || d.kind === 'c') {
      const x = Number(part);
      if (unit === 8) view.setFloat64(at, x, little);
      else if (unit === 4) view.setFloat32(at, x, little);
      else view.setUint16(at, float32ToHalf(Float32Array.of(x))[0]!, little);
    } else if (unit === 8) {
      view.setBigUint64(at, BigInt.asUintN(64, BigInt(part as number | bigint | boolean)), little);
    } else {
      const x = Number(part);
      if (unit === 4) view.setUint32(at, x >>> 0, little);
      else if (unit === 2) view.setUint16(at, x & 0xffff, little);
      else out[at] = x & 0xff;
    }
  });
  return out;
}

/**
 * The raw data numpy pickles for an array read from a pickle: its elements in the stored order
 * (C or Fortran) and byte order.
 */
export function numpyArrayBytes(array: TypedArray, dtype: string): Uint8Array {
  const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  const { kind, itemSize, byteOrder } = parseDTypeStr(dtype);
  const unit = kind === 'c' ? itemSize / 2 : itemSize;
  if (byteOrder !== '>' || unit === 1) return bytes;
  const swapped = bytes.slice();
  for (let i = 0; i < swapped.length; i += unit) swapped.subarray(i, i + unit).reverse();
  return swapped;
}

/** Parses a numpy `dtype.str` such as `<f8` or `|b1`. */
export function parseDTypeStr(str: string): NumpyDType {
  const m = /^([<>|])([fiubc])([0-9]{1,2})$/.exec(str);
  const kind = m?.[2] as NumpyDType['kind'] | undefined;
  const size = Number(m?.[3]);
  if (m === null || kind === undefined || !SIZES[kind].includes(size)) {
    throw new CheckpointError('PICKLE_TYPE', `numpy dtype '${str.slice(0, 8)}' is not supported (numeric dtypes only)`);
  }
  const dtype = new NumpyDType(kind, size);
  if (size > 1) dtype.byteOrder = m[1] as NumpyDType['byteOrder'];
  return dtype;
}

/** Raw element bytes: `bytes`, or a Python 2 `str` holding Latin-1 bytes. */
function rawBytes(a: Args, i: number): Uint8Array {
  const v = a.get(i);
  if (v instanceof Uint8Array) return v;
  const latin1 = typeof v === 'string' ? encodeLatin1(v) : undefined;
  return latin1 ?? a.fail(i, 'bytes');
}

/** Copies `raw` into an aligned buffer in host (little-endian) order and views it by dtype. */
function typedArray(dtype: NumpyDType, raw: Uint8Array): TypedArray {
  const bytes = raw.slice();
  const unit = dtype.kind === 'c' ? dtype.itemSize / 2 : dtype.itemSize;
  if (dtype.byteOrder === '>' && unit > 1) {
    for (let i = 0; i < bytes.length; i += unit) bytes.subarray(i, i + unit).reverse();
  }
  const b = bytes.buffer;
  const n = bytes.length / unit;
  switch (`${dtype.kind}${unit}`) {
    case 'f2':
    case 'u2':
      return new Uint16Array(b, 0, n);
    case 'f4':
    case 'c4':
      return new Float32Array(b, 0, n);
    case 'f8':
    case 'c8':
      return new Float64Array(b, 0, n);
    case 'i1':
      return new Int8Array(b, 0, n);
    case 'i2':
      return new Int16Array(b, 0, n);
    case 'i4':
      return new Int32Array(b, 0, n);
    case 'i8':
      return new BigInt64Array(b, 0, n);
    case 'u4':
      return new Uint32Array(b, 0, n);
    case 'u8':
      return new BigUint64Array(b, 0, n);
    default:
      return bytes; // u1, b1
  }
}

/**
 * The one dtype table (torch/_utils.py `_element_size`, torch/storage.py's storage classes) and whole-buffer conversions between torch's
 * little-endian element bytes and TF.js tensor data. Big-endian data is byte-swapped by the reader before.
 *
 * @module
 */
import { DeviceError, quote } from './errors.js';
import {
  bfloat16ToFloat32,
  checkWidening,
  float32ToBfloat16,
  float32ToHalf,
  float8ToFloat32,
  halfToFloat32,
  type Float8Format,
} from './float-bits.js';

/** Every torch dtype a checkpoint can name: those with a legacy storage class and those saved as `UntypedStorage`. */
export type TorchDType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'complex128'
  | 'complex64'
  | 'complex32'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'qint8'
  | 'quint8'
  | 'qint32'
  | 'quint4x2'
  | 'quint2x4'
  | 'float8_e4m3fn'
  | 'float8_e5m2'
  | 'float8_e4m3fnuz'
  | 'float8_e5m2fnuz'
  | 'float8_e8m0fnu'
  | 'float4_e2m1fn_x2'
  | 'bits8'
  | 'bits16'
  | 'bits1x8'
  | 'bits2x4'
  | 'bits4x2'
  | 'uint1'
  | 'uint2'
  | 'uint3'
  | 'uint4'
  | 'uint5'
  | 'uint6'
  | 'uint7'
  | 'int1'
  | 'int2'
  | 'int3'
  | 'int4'
  | 'int5'
  | 'int6'
  | 'int7';

/** dtypes a TF.js tensor can hold numbers in. */
export type TfDType = 'float32' | 'int32' | 'bool' | 'complex64';

/** One row of the dtype table. */
export interface DTypeInfo {
  /** torch name (`torch.<name>`). */
  name: TorchDType;
  /** Bytes per element (`torch._utils._element_size`). */
  itemSize: number;
  /** Legacy storage class (`'FloatStorage'`), `undefined` for dtypes saved as `UntypedStorage` + dtype. */
  storageName: string | undefined;
  /** TF.js dtype the data converts to; `undefined` when it needs more than bytes (quantized, bits). */
  tf: TfDType | undefined;
  /** Whether the conversion to `tf` is exact for every possible value. */
  exact: boolean;
  /** Other torch spellings (`'float'`, `'half'`, `'long'`, …). */
  aliases: readonly string[];
}

/** How a loader handles dtypes TF.js cannot hold exactly. */
export type DTypeMode = 'convert' | 'strict' | 'raw';

/** Typed arrays {@link rawView} returns. */
export type TypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** TF.js tensor data: float32 and complex64 (interleaved) as Float32Array, int32 as Int32Array, bool as Uint8Array. */
export type TensorValues = Float32Array | Int32Array | Uint8Array;

/** What {@link toTensorData} returns. */
export interface TensorData {
  /** TF.js dtype of `values`. */
  dtype: TfDType;
  /** Converted data (a view of the input when no conversion was needed and the bytes are aligned). */
  values: TensorValues;
  /** Description of the precision lost, `undefined` when every value converted exactly. */
  lossy: string | undefined;
}

type Row = [
  itemSize: number,
  storageName: string | undefined,
  tf: TfDType | undefined,
  exact: boolean,
  aliases: string[],
];

const TABLE: Readonly<Record<TorchDType, Row>> = {
  float64: [8, 'DoubleStorage', 'float32', false, ['double']],
  float32: [4, 'FloatStorage', 'float32', true, ['float']],
  float16: [2, 'HalfStorage', 'float32', true, ['half']],
  bfloat16: [2, 'BFloat16Storage', 'float32', true, []],
  complex128: [16, 'ComplexDoubleStorage', 'complex64', false, ['cdouble']],
  complex64: [8, 'ComplexFloatStorage', 'complex64', true, ['cfloat']],
  complex32: [4, undefined, 'complex64', true, ['chalf']],
  int64: [8, 'LongStorage', 'int32', false, ['long']],
  int32: [4, 'IntStorage', 'int32', true, ['int']],
  int16: [2, 'ShortStorage', 'int32', true, ['short']],
  int8: [1, 'CharStorage', 'int32', true, []],
  uint8: [1, 'ByteStorage', 'int32', true, []],
  uint16: [2, undefined, 'int32', true, []],
  uint32: [4, undefined, 'int32', false, []],
  uint64: [8, undefined, 'int32', false, []],
  bool: [1, 'BoolStorage', 'bool', true, []],
  qint8: [1, 'QInt8Storage', undefined, false, []],
  quint8: [1, 'QUInt8Storage', undefined, false, []],
  qint32: [4, 'QInt32Storage', undefined, false, []],
  quint4x2: [1, 'QUInt4x2Storage', undefined, false, []],
  quint2x4: [1, 'QUInt2x4Storage', undefined, false, []],
  float8_e4m3fn: [1, undefined, 'float32', true, []],
  float8_e5m2: [1, undefined, 'float32', true, []],
  float8_e4m3fnuz: [1, undefined, 'float32', true, []],
  float8_e5m2fnuz: [1, undefined, 'float32', true, []],
  float8_e8m0fnu: [1, undefined, 'float32', true, []],
  bits8: [1, undefined, undefined, false, []],
  bits16: [2, undefined, undefined, false, []],
  bits1x8: [1, undefined, undefined, false, []],
  bits2x4: [1, undefined, undefined, false, []],
  bits4x2: [1, undefined, undefined, false, []],
  // two 4-bit floats per byte; torch counts elements in bytes
  float4_e2m1fn_x2: [1, undefined, undefined, false, []],
  // sub-byte integer dtypes: torch pickles the dtype objects (itemsize 1) but cannot save tensors of them
  uint1: [1, undefined, undefined, false, []],
  uint2: [1, undefined, undefined, false, []],
  uint3: [1, undefined, undefined, false, []],
  uint4: [1, undefined, undefined, false, []],
  uint5: [1, undefined, undefined, false, []],
  uint6: [1, undefined, undefined, false, []],
  uint7: [1, undefined, undefined, false, []],
  int1: [1, undefined, undefined, false, []],
  int2: [1, undefined, undefined, false, []],
  int3: [1, undefined, undefined, false, []],
  int4: [1, undefined, undefined, false, []],
  int5: [1, undefined, undefined, false, []],
  int6: [1, undefined, undefined, false, []],
  int7: [1, undefined, undefined, false, []],
};

const INFOS = new Map<TorchDType, DTypeInfo>();
const BY_STORAGE = new Map<string, TorchDType>();
const BY_NAME = new Map<string, TorchDType>();
for (const [name, [itemSize, storageName, tf, exact, aliases]] of Object.entries(TABLE) as [TorchDType, Row][]) {
  INFOS.set(name, Object.freeze({ name, itemSize, storageName, tf, exact, aliases: Object.freeze(aliases) }));
  if (storageName !== undefined) BY_STORAGE.set(storageName, name);
  for (const n of [name, ...aliases]) BY_NAME.set(n, name);
}

/** Every torch dtype, in table order. */
export const TORCH_DTYPES: readonly TorchDType[] = Object.freeze([...INFOS.keys()]);

/** The table row of a torch dtype. Throws `DTYPE_UNSUPPORTED` for a name not in the table. */
export function dtypeInfo(d: TorchDType): DTypeInfo {
  const info = INFOS.get(d);
  if (info === undefined) throw new DeviceError('DTYPE_UNSUPPORTED', `unknown torch dtype ${quote(String(d), "'")}`);
  return info;
}

/** The dtype of a legacy storage class (`GLOBAL 'torch FloatStorage'`), or `undefined`. */
export function dtypeFromStorageName(name: string): TorchDType | undefined {
  return BY_STORAGE.get(name.startsWith('torch.') ? name.slice(6) : name);
}

/** The dtype named by `GLOBAL 'torch <name>'` or `torch.<name>`, aliases included, or `undefined`. */
export function dtypeFromTorchName(name: string): TorchDType | undefined {
  return BY_NAME.get(name.startsWith('torch.') ? name.slice(6) : name);
}

/** Bytes per element of a TF.js dtype (float32/int32 4, bool 1, complex64 8). */
export function tfItemSize(d: TfDType): number {
  return d === 'bool' ? 1 : d === 'complex64' ? 8 : 4;
}

type ViewCtor<T extends TypedArray> = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/** A view of `bytes` as `Ctor`, copied first only when `byteOffset` is not a multiple of the element size. */
function viewAs<T extends TypedArray>(bytes: Uint8Array, Ctor: ViewCtor<T>): T {
  const n = bytes.byteLength / Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, bytes.byteOffset, n);
  return new Ctor(bytes.slice().buffer, 0, n);
}

function checkLength(bytes: Uint8Array, d: TorchDType): DTypeInfo {
  const info = dtypeInfo(d);
  if (bytes.byteLength % info.itemSize !== 0) {
    throw new DeviceError(
      'DTYPE_BYTES',
      `expected a multiple of ${info.itemSize} bytes for ${d}, found ${bytes.byteLength} bytes`,
      { dtype: d, byteLength: bytes.byteLength },
    );
  }
  return info;
}

/**
 * The bytes as a typed array of the original dtype: Float64Array, BigInt64Array, Uint16Array for
 * float16/bfloat16/complex32/bits16, interleaved (re, im) arrays for complex, Uint8Array for 1-byte formats.
 * A view when aligned, else a copy.
 */
export function rawView(bytes: Uint8Array, dtype: TorchDType): TypedArray {
  checkLength(bytes, dtype);
  switch (dtype) {
    case 'float64':
    case 'complex128':
      return viewAs(bytes, Float64Array);
    case 'float32':
    case 'complex64':
      return viewAs(bytes, Float32Array);
    case 'float16':
    case 'bfloat16':
    case 'complex32':
    case 'uint16':
    case 'bits16':
      return viewAs(bytes, Uint16Array);
    case 'int64':
      return viewAs(bytes, BigInt64Array);
    case 'uint64':
      return viewAs(bytes, BigUint64Array);
    case 'int32':
    case 'qint32':
      return viewAs(bytes, Int32Array);
    case 'uint32':
      return viewAs(bytes, Uint32Array);
    case 'int16':
      return viewAs(bytes, Int16Array);
    case 'int8':
    case 'qint8':
      return viewAs(bytes, Int8Array);
    default:
      return bytes;
  }
}

const INT32_RANGE = '[-2147483648, 2147483647]';

/** Options of {@link toTensorData}. */
export interface ToTensorDataOptions {
  /**
   * The caller gives up `bytes` and the bytes before them in their buffer: a widening conversion (float16,
   * bfloat16, complex32, float8, int8/int16/uint8/uint16) then writes its result so that it ends where `bytes`
   * end, converting front to back over the input instead of allocating, when there is room (`bytes.byteOffset`
   * at least the growth) and the result start is 4-byte aligned. Read narrow elements into the back of a buffer
   * sized for the result to load without a second allocation. Default `false`.
   */
  readonly overwrite?: boolean;
}

/**
 * Converts torch element bytes (little-endian, C-contiguous; may be unaligned) to TF.js tensor data at memory
 * speed. float32/int32/bool/complex64 are views when aligned; float16, bfloat16, complex32, float8 and
 * int8/int16/uint8/uint16 widen exactly (in place with `overwrite`); int64/uint32/uint64 narrow to int32 with a
 * range check (out-of-range values keep their low 32 bits, as torch's `.int()`); float64/complex128 round to
 * float32. `lossy` describes any value that changed; `mode: 'strict'` throws `DTYPE_LOSSY` instead.
 * Quantized and bits dtypes throw `DTYPE_UNSUPPORTED` (use {@link rawView}).
 *
 * @example
 * ```ts
 * const half = new Uint8Array([0x00, 0x3c]); // 1.0 as float16
 * toTensorData(half, 'float16', 'convert'); // { dtype: 'float32', values: Float32Array [1], lossy: undefined }
 * const buffer = new ArrayBuffer(4);
 * const back = new Uint8Array(buffer, 2, 2);
 * back.set(half);
 * toTensorData(back, 'float16', 'convert', { overwrite: true }).values.buffer === buffer; // true: no allocation
 * ```
 */
export function toTensorData(
  bytes: Uint8Array,
  dtype: TorchDType,
  mode: 'convert' | 'strict',
  options: ToTensorDataOptions = {},
): TensorData {
  const info = checkLength(bytes, dtype);
  const result = convert(bytes, dtype, info, options.overwrite === true ? widenedTarget(bytes, info) : undefined);
  if (result.lossy !== undefined && mode === 'strict') {
    throw new DeviceError('DTYPE_LOSSY', `${result.lossy} (strict dtype mode)`, { dtype });
  }
  return result;
}

/** Where an in-place widening writes: 4-byte elements ending where `bytes` end. */
interface WidenedTarget {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly length: number;
}

/** The in-place target of a widening conversion, or `undefined` when it does not widen or does not fit. */
function widenedTarget(bytes: Uint8Array, info: DTypeInfo): WidenedTarget | undefined {
  if (info.tf !== 'float32' && info.tf !== 'int32' && info.tf !== 'complex64') return undefined;
  const length = (bytes.byteLength / info.itemSize) * (info.tf === 'complex64' ? 2 : 1);
  const start = bytes.byteOffset + bytes.byteLength - 4 * length;
  return info.itemSize < tfItemSize(info.tf) && start >= 0 && start % 4 === 0
    ? { buffer: bytes.buffer, byteOffset: start, length }
    : undefined;
}

function convert(bytes: Uint8Array, dtype: TorchDType, info: DTypeInfo, into: WidenedTarget | undefined): TensorData {
  const floats = (): Float32Array | undefined =>
    into === undefined ? undefined : new Float32Array(into.buffer, into.byteOffset, into.length);
  const ints = (): Int32Array | undefined =>
    into === undefined ? undefined : new Int32Array(into.buffer, into.byteOffset, into.length);
  switch (dtype) {
    case 'float32':
      return exact('float32', viewAs(bytes, Float32Array));
    case 'complex64':
      return exact('complex64', viewAs(bytes, Float32Array));
    case 'int32':
      return exact('int32', viewAs(bytes, Int32Array));
    case 'bool':
      return exact('bool', normaliseBool(bytes));
    case 'float16':
      return exact('float32', halfToFloat32(viewAs(bytes, Uint16Array), floats()));
    case 'complex32':
      return exact('complex64', halfToFloat32(viewAs(bytes, Uint16Array), floats()));
    case 'bfloat16':
      return exact('float32', bfloat16ToFloat32(viewAs(bytes, Uint16Array), floats()));
    case 'float8_e4m3fn':
    case 'float8_e5m2':
    case 'float8_e4m3fnuz':
    case 'float8_e5m2fnuz':
    case 'float8_e8m0fnu':
      return exact('float32', float8ToFloat32(bytes, dtype satisfies Float8Format, floats()));
    case 'int8':
      return exact('int32', widen(viewAs(bytes, Int8Array), ints()));
    case 'int16':
      return exact('int32', widen(viewAs(bytes, Int16Array), ints()));
    case 'uint8':
      return exact('int32', widen(bytes, ints()));
    case 'uint16':
      return exact('int32', widen(viewAs(bytes, Uint16Array), ints()));
    case 'int64':
      return wideIntToInt32(viewAs(bytes, Int32Array), false, dtype);
    case 'uint64':
      return wideIntToInt32(viewAs(bytes, Int32Array), true, dtype);
    case 'uint32':
      return uint32ToInt32(viewAs(bytes, Int32Array));
    case 'float64':
      return float64ToFloat32(viewAs(bytes, Float64Array), 'float32', dtype);
    case 'complex128':
      return float64ToFloat32(viewAs(bytes, Float64Array), 'complex64', dtype);
    default:
      throw new DeviceError(
        'DTYPE_UNSUPPORTED',
        `${dtype} has no TF.js equivalent${info.storageName?.startsWith('Q') === true ? ' (dequantize with scale/zero_point)' : ''}; use rawView() for its raw elements`,
        { dtype },
      );
  }
}

function exact(dtype: TfDType, values: TensorValues): TensorData {
  return { dtype, values, lossy: undefined };
}

/** Integers to int32: a native copy into a new array, or front to back into `out` at the end of which `src` lies. */
function widen(src: Int8Array | Int16Array | Uint8Array | Uint16Array, out?: Int32Array): Int32Array {
  if (out === undefined) {
    const fresh = new Int32Array(src.length);
    fresh.set(src);
    return fresh;
  }
  checkWidening(src, out);
  for (let i = 0; i < src.length; i++) out[i] = src[i] as number;
  return out;
}

/** torch bools are 0/1 bytes; any other byte becomes 1 (copying only then). */
function normaliseBool(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length && (bytes[i] as number) <= 1) i++;
  if (i === bytes.length) return bytes;
  const out = bytes.slice();
  for (; i < out.length; i++) if ((out[i] as number) > 1) out[i] = 1;
  return out;
}

/** int64/uint64 as (lo, hi) Int32 pairs -> low words, counting values whose high word is not the sign extension. */
function wideIntToInt32(pairs: Int32Array, unsigned: boolean, dtype: TorchDType): TensorData {
  const n = pairs.length >>> 1;
  const out = new Int32Array(n);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const lo = pairs[2 * i] as number;
    const hi = pairs[2 * i + 1] as number;
    out[i] = lo;
    if (hi !== (unsigned ? 0 : lo >> 31) || (unsigned && lo < 0)) {
      if (bad === 0) first = i;
      bad++;
    }
  }
  if (bad === 0) return exact('int32', out);
  const lo = BigInt((pairs[2 * first] as number) >>> 0);
  const hi = BigInt(pairs[2 * first + 1] as number);
  const value = unsigned ? BigInt.asUintN(64, (hi << 32n) | lo) : (hi << 32n) | lo;
  return {
    dtype: 'int32',
    values: out,
    lossy: `${dtype} -> int32: ${bad} of ${n} values outside ${INT32_RANGE} kept their low 32 bits (first at element ${first}: ${value})`,
  };
}

function uint32ToInt32(src: Int32Array): TensorData {
  let bad = 0;
  let first = -1;
  for (let i = 0; i < src.length; i++) {
    if ((src[i] as number) < 0) {
      if (bad === 0) first = i;
      bad++;
    }
  }
  if (bad === 0) return exact('int32', src);
  return {
    dtype: 'int32',
    values: src,
    lossy: `uint32 -> int32: ${bad} of ${src.length} values above 2147483647 wrapped (first at element ${first}: ${(src[first] as number) >>> 0})`,
  };
}

function float64ToFloat32(src: Float64Array, dtype: 'float32' | 'complex64', from: TorchDType): TensorData {
  const out = new Float32Array(src.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < src.length; i++) {
    const v = src[i] as number;
    out[i] = v;
    if (out[i] !== v && !Number.isNaN(v)) {
      if (bad === 0) first = i;
      bad++;
    }
  }
  if (bad === 0) return exact(dtype, out);
  return {
    dtype,
    values: out,
    lossy: `${from} -> ${dtype}: ${bad} of ${src.length} values rounded (first at element ${first}: ${src[first]} -> ${out[first]})`,
  };
}

const INT_RANGES: Partial<Record<TorchDType, [number, number]>> = {
  int16: [-32768, 32767],
  int8: [-128, 127],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 2 ** 32 - 1],
};

/**
 * Writes TF.js tensor data back as torch element bytes (little-endian) for `target`: float32 -> float16 and
 * bfloat16 round to nearest even, -> float64 widens; int32 -> int64 sign-extends; narrower integer targets
 * and uint64 throw `DTYPE_LOSSY` when a value does not fit. float32/complex64/int32/bool results are views of
 * `values` (no copy). Float data to integer targets, integer data to float targets, and the quantized, float8
 * and bits dtypes throw `DTYPE_UNSUPPORTED`.
 */
export function fromTensorData(values: TensorValues, target: TorchDType): Uint8Array {
  const info = dtypeInfo(target);
  const isFloat = info.tf === 'float32' || info.tf === 'complex64';
  if (values instanceof Float32Array) {
    if (!isFloat) throw unsupportedWrite('Float32Array', target);
    switch (target) {
      case 'float32':
      case 'complex64':
        return bytesOf(values);
      case 'float64':
      case 'complex128':
        return bytesOf(Float64Array.from(values));
      case 'float16':
      case 'complex32':
        return bytesOf(float32ToHalf(values));
      case 'bfloat16':
        return bytesOf(float32ToBfloat16(values));
      default:
        throw unsupportedWrite('Float32Array', target);
    }
  }
  if (isFloat || info.tf === undefined) throw unsupportedWrite(values.constructor.name, target);
  switch (target) {
    case 'bool':
      return boolBytes(values);
    case 'int32':
      return values instanceof Int32Array ? bytesOf(values) : bytesOf(Int32Array.from(values));
    case 'int64':
    case 'uint64':
      return int64Bytes(values, target);
    default: {
      const [lo, hi] = INT_RANGES[target] as [number, number];
      checkRange(values, lo, hi, target);
      const Ctor = { int16: Int16Array, int8: Int8Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array }[
        target as 'int16' | 'int8' | 'uint8' | 'uint16' | 'uint32'
      ];
      const out = new Ctor(values.length);
      out.set(values);
      return bytesOf(out);
    }
  }
}

function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function boolBytes(values: Int32Array | Uint8Array): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] === 0 ? 0 : 1;
  return out;
}

function int64Bytes(values: Int32Array | Uint8Array, target: 'int64' | 'uint64'): Uint8Array {
  if (target === 'uint64') checkRange(values, 0, 2 ** 31 - 1, target);
  const out = new Int32Array(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    out[2 * i] = v;
    out[2 * i + 1] = v >> 31;
  }
  return bytesOf(out);
}

function checkRange(values: Int32Array | Uint8Array, lo: number, hi: number, target: TorchDType): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v < lo || v > hi) {
      throw new DeviceError(
        'DTYPE_LOSSY',
        `cannot write ${v} as ${target}: expected values in [${lo}, ${hi}] (element ${i})`,
        { dtype: target, element: i },
      );
    }
  }
}

function unsupportedWrite(kind: string, target: TorchDType): DeviceError {
  return new DeviceError('DTYPE_UNSUPPORTED', `cannot write ${quote(kind, '')} tensor data as ${target}`, {
    dtype: target,
  });
}

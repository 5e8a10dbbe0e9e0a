import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  TORCH_DTYPES,
  dtypeFromStorageName,
  dtypeFromTorchName,
  dtypeInfo,
  fromTensorData,
  rawView,
  toTensorData,
  type TorchDType,
} from './dtype.js';
import {
  bfloat16ToFloat32,
  checkWidening,
  float32ToBfloat16,
  float32ToHalf,
  float8Table,
  halfToFloat32,
  type Float8Format,
} from './float-bits.js';

/** Written by test/gen-dtype-fixtures.py with torch 1.13 (layout in that script's docstring). */
const FIXTURE = gunzipSync(readFileSync(new URL('../test/half-bits.bin.gz', import.meta.url)));
const u32At = (offset: number, n: number) =>
  new Uint32Array(FIXTURE.buffer.slice(FIXTURE.byteOffset + offset, FIXTURE.byteOffset + offset + 4 * n));
const TORCH_HALF_TO_F32 = u32At(0, 65536);
const TORCH_BF16_TO_F32 = u32At(4 * 65536, 65536);
const N = new DataView(FIXTURE.buffer, FIXTURE.byteOffset + 8 * 65536, 4).getUint32(0, true);
const ENC_INPUT = u32At(8 * 65536 + 4, N);
const encBase = 8 * 65536 + 4 + 4 * N;
const TORCH_F32_TO_HALF = new Uint16Array(
  FIXTURE.buffer.slice(FIXTURE.byteOffset + encBase, FIXTURE.byteOffset + encBase + 2 * N),
);
const TORCH_F32_TO_BF16 = new Uint16Array(
  FIXTURE.buffer.slice(FIXTURE.byteOffset + encBase + 2 * N, FIXTURE.byteOffset + encBase + 4 * N),
);

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const allCodes = () => bytes(Uint16Array.from({ length: 65536 }, (_, i) => i));

describe('dtype table', () => {
  it.each([
    // [dtype, torch/_utils.py `_element_size`, legacy storage class]
    ['float64', 8, 'DoubleStorage'],
    ['float32', 4, 'FloatStorage'],
    ['float16', 2, 'HalfStorage'],
    ['bfloat16', 2, 'BFloat16Storage'],
    ['int64', 8, 'LongStorage'],
    ['int32', 4, 'IntStorage'],
    ['int16', 2, 'ShortStorage'],
    ['int8', 1, 'CharStorage'],
    ['uint8', 1, 'ByteStorage'],
    ['bool', 1, 'BoolStorage'],
    ['complex128', 16, 'ComplexDoubleStorage'],
    ['complex64', 8, 'ComplexFloatStorage'],
    ['qint8', 1, 'QInt8Storage'],
    ['qint32', 4, 'QInt32Storage'],
    ['quint8', 1, 'QUInt8Storage'],
    ['quint4x2', 1, 'QUInt4x2Storage'],
    ['quint2x4', 1, 'QUInt2x4Storage'],
  ] as [TorchDType, number, string][])('group 1: %s has size %i and storage %s', (d, size, storage) => {
    expect(dtypeInfo(d).itemSize).toBe(size);
    expect(dtypeInfo(d).storageName).toBe(storage);
    expect(dtypeFromStorageName(storage)).toBe(d);
    expect(dtypeFromStorageName(`torch.${storage}`)).toBe(d);
  });

  it.each([
    ['float8_e5m2', 1],
    ['float8_e4m3fn', 1],
    ['float8_e5m2fnuz', 1],
    ['float8_e4m3fnuz', 1],
    ['float8_e8m0fnu', 1],
    ['bits8', 1],
    ['bits1x8', 1],
    ['bits2x4', 1],
    ['bits4x2', 1],
    ['bits16', 2],
    ['complex32', 4],
    ['uint16', 2],
    ['uint32', 4],
    ['uint64', 8],
  ] as [TorchDType, number][])('group 2: %s has size %i and no legacy storage class', (d, size) => {
    expect(dtypeInfo(d).itemSize).toBe(size);
    expect(dtypeInfo(d).storageName).toBeUndefined();
  });

  it('covers the 31 dtypes of torch 1.13 and the 15 more torch 2.13 pickles (float4_e2m1fn_x2, uint1..7, int1..7)', () => {
    expect(TORCH_DTYPES).toHaveLength(17 + 14 + 15);
    for (const d of ['float4_e2m1fn_x2', 'uint1', 'uint7', 'int1', 'int7'] as const) {
      expect([dtypeInfo(d).itemSize, dtypeInfo(d).tf, dtypeFromTorchName(d)]).toEqual([1, undefined, d]);
    }
  });

  it('exactness: f32/i32/bool/c64 exact, halves and small ints widen, int64/f64/c128/u32/u64 not', () => {
    const exact = TORCH_DTYPES.filter((d) => dtypeInfo(d).exact);
    expect(exact.sort()).toEqual(
      [
        'bfloat16',
        'bool',
        'complex32',
        'complex64',
        'float16',
        'float32',
        'int16',
        'int32',
        'int8',
        'uint16',
        'uint8',
        'float8_e4m3fn',
        'float8_e5m2',
        'float8_e4m3fnuz',
        'float8_e5m2fnuz',
        'float8_e8m0fnu',
      ].sort(),
    );
    expect(dtypeInfo('int64').tf).toBe('int32');
    expect(dtypeInfo('complex128').tf).toBe('complex64');
    expect(dtypeInfo('qint8').tf).toBeUndefined();
  });

  it.each([
    ['float', 'float32'],
    ['double', 'float64'],
    ['half', 'float16'],
    ['long', 'int64'],
    ['int', 'int32'],
    ['short', 'int16'],
    ['cfloat', 'complex64'],
    ['cdouble', 'complex128'],
    ['chalf', 'complex32'],
    ['torch.bfloat16', 'bfloat16'],
    ['float8_e4m3fn', 'float8_e4m3fn'],
    ['uint8', 'uint8'],
  ])('torch name %s -> %s', (name, d) => {
    expect(dtypeFromTorchName(name)).toBe(d);
  });

  it('unknown names give undefined, unknown dtypes throw DTYPE_UNSUPPORTED', () => {
    expect(dtypeFromTorchName('float128')).toBeUndefined();
    expect(dtypeFromStorageName('CudaFloatStorage')).toBeUndefined();
    expect(dtypeFromTorchName('__proto__')).toBeUndefined();
    expect(() => dtypeInfo('float128' as TorchDType)).toThrow(expect.objectContaining({ code: 'DTYPE_UNSUPPORTED' }));
  });
});

describe('half types against torch 1.13 (test/half-bits.bin.gz)', () => {
  it('float16 -> float32 matches torch for all 65,536 bit patterns', () => {
    const r = toTensorData(allCodes(), 'float16', 'strict');
    expect(r.dtype).toBe('float32');
    expect(new Uint32Array(r.values.buffer)).toEqual(TORCH_HALF_TO_F32);
  });

  it('bfloat16 -> float32 matches torch for all 65,536 bit patterns', () => {
    const r = toTensorData(allCodes(), 'bfloat16', 'strict');
    expect(new Uint32Array(r.values.buffer)).toEqual(TORCH_BF16_TO_F32);
  });

  it('float16 widening agrees with value arithmetic (-1)^s * 2^(e-15) * (1 + m/1024), subnormals m * 2^-24', () => {
    const values = toTensorData(allCodes(), 'float16', 'strict').values as Float32Array;
    for (let h = 0; h < 65536; h += 7) {
      const s = h >> 15 ? -1 : 1;
      const e = (h >> 10) & 31;
      const m = h & 1023;
      const expected =
        e === 31 ? (m ? NaN : s * Infinity) : e === 0 ? s * m * 2 ** -24 : s * 2 ** (e - 15) * (1 + m / 1024);
      expect(Object.is(values[h], expected) || (Number.isNaN(expected) && Number.isNaN(values[h]))).toBe(true);
    }
  });

  it(`float32 -> float16 rounds like torch .half() on ${N} edge and random inputs`, () => {
    const input = new Float32Array(ENC_INPUT.buffer.slice(0));
    expect(float32ToHalf(input)).toEqual(TORCH_F32_TO_HALF);
    expect(new Uint16Array(fromTensorData(input, 'float16').slice().buffer)).toEqual(TORCH_F32_TO_HALF);
  });

  it(`float32 -> bfloat16 rounds like torch .bfloat16() on ${N} edge and random inputs`, () => {
    const input = new Float32Array(ENC_INPUT.buffer.slice(0));
    expect(float32ToBfloat16(input)).toEqual(TORCH_F32_TO_BF16);
    expect(new Uint16Array(fromTensorData(input, 'bfloat16').slice().buffer)).toEqual(TORCH_F32_TO_BF16);
  });

  it('complex32 widens each half component', () => {
    // (1.0, -2.0) as halves: 0x3c00, 0xc000
    const r = toTensorData(bytes(new Uint16Array([0x3c00, 0xc000])), 'complex32', 'strict');
    expect(r).toEqual({ dtype: 'complex64', values: new Float32Array([1, -2]), lossy: undefined });
  });
});

/** `src`'s bytes at the end of a fresh buffer of `growth` times their size (plus `lead` spare bytes in front). */
function atBackOf(src: Uint8Array, growth: number, lead = 0): Uint8Array {
  const buffer = new ArrayBuffer(lead + src.length * growth);
  const back = new Uint8Array(buffer, buffer.byteLength - src.length, src.length);
  back.set(src);
  return back;
}

describe('widening in place (overwrite: true)', () => {
  it("float16 -> float32 in the input's own buffer matches torch for all 65,536 bit patterns", () => {
    const back = atBackOf(allCodes(), 2);
    const r = toTensorData(back, 'float16', 'strict', { overwrite: true });
    expect(r.values.buffer).toBe(back.buffer);
    expect(r.values.byteOffset).toBe(0);
    expect(new Uint32Array(r.values.buffer)).toEqual(TORCH_HALF_TO_F32);
  });

  it('bfloat16 -> float32 in place matches torch for all 65,536 bit patterns', () => {
    const back = atBackOf(allCodes(), 2);
    const r = toTensorData(back, 'bfloat16', 'strict', { overwrite: true });
    expect(r.values.buffer).toBe(back.buffer);
    expect(new Uint32Array(r.values.buffer)).toEqual(TORCH_BF16_TO_F32);
  });

  it('an odd element count puts the input at a 2-mod-4 offset: the first element is converted alone', () => {
    const codes = allCodes().subarray(2); // codes 1..65535
    for (const [dtype, torch] of [
      ['float16', TORCH_HALF_TO_F32],
      ['bfloat16', TORCH_BF16_TO_F32],
    ] as const) {
      const back = atBackOf(codes, 2, 8);
      expect(back.byteOffset % 4).toBe(2);
      const r = toTensorData(back, dtype, 'strict', { overwrite: true });
      expect(r.values.buffer).toBe(back.buffer);
      expect(r.values.byteOffset).toBe(8); // ends where the input ends
      expect(new Uint32Array(r.values.buffer, r.values.byteOffset, r.values.length)).toEqual(torch.subarray(1));
      const fresh = toTensorData(codes, dtype, 'strict'); // same 2-mod-4 input, new output
      expect(new Uint32Array(fresh.values.buffer)).toEqual(torch.subarray(1));
    }
  });

  it('float8, complex32 and the small integer types widen in place to the same values as a fresh conversion', () => {
    const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const format of [
      'float8_e4m3fn',
      'float8_e5m2',
      'float8_e4m3fnuz',
      'float8_e5m2fnuz',
      'float8_e8m0fnu',
    ] as const) {
      const r = toTensorData(atBackOf(codes, 4), format, 'convert', { overwrite: true });
      expect(r.values.byteLength).toBe(1024);
      expect(r.values).toEqual(float8Table(format));
    }
    const c = toTensorData(atBackOf(bytes(new Uint16Array([0x3c00, 0xc000])), 2), 'complex32', 'strict', {
      overwrite: true,
    });
    expect(c).toMatchObject({ dtype: 'complex64', values: new Float32Array([1, -2]) });
    const ints: [TorchDType, ArrayLike<number> & ArrayBufferView, number][] = [
      ['int8', Int8Array.from({ length: 256 }, (_, i) => i - 128), 4],
      ['uint8', Uint8Array.from({ length: 256 }, (_, i) => i), 4],
      ['int16', Int16Array.from([-32768, -1, 0, 1, 32767]), 2],
      ['uint16', Uint16Array.from([0, 1, 32768, 65535]), 2],
    ];
    for (const [dtype, values, growth] of ints) {
      const back = atBackOf(bytes(values), growth);
      const r = toTensorData(back, dtype, 'strict', { overwrite: true });
      expect(r.values.buffer).toBe(back.buffer);
      expect(Array.from(r.values)).toEqual(Array.from(values));
    }
  });

  it('without room in front, or without overwrite, the input stays as it was and the result is new', () => {
    const input = bytes(new Uint16Array([0x3c00, 0xc000]));
    const copy = input.slice();
    for (const options of [{ overwrite: true }, {}, { overwrite: false }]) {
      const r = toTensorData(input, 'float16', 'strict', options);
      expect(r.values).toEqual(new Float32Array([1, -2]));
      expect(r.values.buffer).not.toBe(input.buffer);
    }
    const back = atBackOf(input, 2);
    expect(toTensorData(back, 'float16', 'strict').values.buffer).not.toBe(back.buffer);
    expect(input).toEqual(copy);
    expect(back).toEqual(copy);
  });

  it('checkWidening refuses an overlapping output that would overwrite unread input', () => {
    const buffer = new ArrayBuffer(16);
    expect(() => checkWidening(new Uint16Array(buffer, 8, 4), new Float32Array(buffer))).not.toThrow();
    expect(() => checkWidening(new Uint16Array(buffer, 0, 4), new Float32Array(buffer))).toThrow(RangeError);
    expect(() => halfToFloat32(new Uint16Array(buffer, 4, 4), new Float32Array(buffer))).toThrow(RangeError);
    expect(() => bfloat16ToFloat32(new Uint16Array(2), new Float32Array(3))).toThrow(RangeError);
    expect(halfToFloat32(new Uint16Array(buffer, 0, 2), new Float32Array(buffer, 8, 2))).toEqual(
      new Float32Array([0, 0]),
    ); // disjoint
  });
});

describe('float8 tables (formats from the OCP FP8 spec and the fnuz/e8m0 variants)', () => {
  it.each([
    // [format, code, value, arithmetic]
    ['float8_e4m3fn', 0x38, 1, 'e=7, bias 7'],
    ['float8_e4m3fn', 0x7e, 448, '2^(15-7) * (1 + 6/8)'],
    ['float8_e4m3fn', 0x01, 2 ** -9, 'subnormal 1/8 * 2^(1-7)'],
    ['float8_e4m3fn', 0xfe, -448, 'negative max'],
    ['float8_e5m2', 0x3c, 1, 'e=15, bias 15'],
    ['float8_e5m2', 0x7b, 57344, '2^(30-15) * (1 + 3/4)'],
    ['float8_e5m2', 0x7c, Infinity, 'IEEE infinity'],
    ['float8_e5m2', 0x01, 2 ** -16, 'subnormal 1/4 * 2^(1-15)'],
    ['float8_e4m3fnuz', 0x40, 1, 'e=8, bias 8'],
    ['float8_e4m3fnuz', 0x7f, 240, '2^(15-8) * (1 + 7/8)'],
    ['float8_e5m2fnuz', 0x40, 1, 'e=16, bias 16'],
    ['float8_e5m2fnuz', 0x7f, 57344, '2^(31-16) * (1 + 3/4)'],
    ['float8_e8m0fnu', 127, 1, '2^(127-127)'],
    ['float8_e8m0fnu', 0, 2 ** -127, '2^(0-127)'],
  ] as [Float8Format, number, number, string][])('%s code %i is %s (%s)', (format, code, value) => {
    expect(float8Table(format)[code]).toBe(value);
    expect(toTensorData(new Uint8Array([code]), format, 'strict').values[0]).toBe(value);
  });

  it.each([
    ['float8_e4m3fn', [0x7f, 0xff]],
    ['float8_e5m2', [0x7d, 0x7e, 0x7f, 0xfd]],
    ['float8_e4m3fnuz', [0x80]],
    ['float8_e5m2fnuz', [0x80]],
    ['float8_e8m0fnu', [0xff]],
  ] as const)('%s NaN codes are exactly %j', (format, nans) => {
    const t = float8Table(format);
    const found = [...t.keys()].filter((i) => Number.isNaN(t[i]));
    expect(found).toEqual(format === 'float8_e5m2' ? [0x7d, 0x7e, 0x7f, 0xfd, 0xfe, 0xff] : nans);
  });
});

describe('toTensorData', () => {
  it('float32/int32/bool/complex64 are zero-copy views when aligned', () => {
    const buf = new ArrayBuffer(64);
    const src = new Uint8Array(buf, 8, 16);
    for (const d of ['float32', 'int32', 'complex64', 'bool'] as const) {
      const r = toTensorData(src, d, 'strict');
      expect(r.values.buffer).toBe(buf);
      expect(r.values.byteOffset).toBe(8);
      expect(r.lossy).toBeUndefined();
    }
  });

  it('unaligned float32 bytes are copied, with the same values', () => {
    const buf = new Uint8Array(9);
    new DataView(buf.buffer).setFloat32(1, 1.5, true);
    new DataView(buf.buffer).setFloat32(5, -3, true);
    const r = toTensorData(buf.subarray(1), 'float32', 'strict');
    expect(r.values.buffer).not.toBe(buf.buffer);
    expect(Array.from(r.values)).toEqual([1.5, -3]);
  });

  it('int8/int16/uint8/uint16 widen exactly to int32', () => {
    expect(Array.from(toTensorData(bytes(new Int8Array([-128, 127, -1])), 'int8', 'strict').values)).toEqual([
      -128, 127, -1,
    ]);
    expect(Array.from(toTensorData(bytes(new Int16Array([-32768, 32767])), 'int16', 'strict').values)).toEqual([
      -32768, 32767,
    ]);
    expect(Array.from(toTensorData(new Uint8Array([0, 255]), 'uint8', 'strict').values)).toEqual([0, 255]);
    expect(Array.from(toTensorData(bytes(new Uint16Array([65535])), 'uint16', 'strict').values)).toEqual([65535]);
    expect(toTensorData(new Uint8Array([1]), 'uint8', 'strict').dtype).toBe('int32');
  });

  it('int64 in int32 range converts exactly; outside it is lossy (convert) or throws DTYPE_LOSSY (strict)', () => {
    const inRange = bytes(new BigInt64Array([-2147483648n, 2147483647n, 0n, -1n]));
    expect(toTensorData(inRange, 'int64', 'strict')).toEqual({
      dtype: 'int32',
      values: new Int32Array([-2147483648, 2147483647, 0, -1]),
      lossy: undefined,
    });
    const out = bytes(new BigInt64Array([1n, 2147483648n, -2147483649n]));
    const r = toTensorData(out, 'int64', 'convert');
    // low 32 bits: 2^31 -> -2^31; -2^31-1 -> 2^31-1 (torch .int() keeps the low word too)
    expect(Array.from(r.values)).toEqual([1, -2147483648, 2147483647]);
    expect(r.lossy).toBe(
      'int64 -> int32: 2 of 3 values outside [-2147483648, 2147483647] kept their low 32 bits (first at element 1: 2147483648)',
    );
    expect(() => toTensorData(out, 'int64', 'strict')).toThrow(expect.objectContaining({ code: 'DTYPE_LOSSY' }));
  });

  it('uint64 and uint32 above 2^31-1 are lossy', () => {
    expect(toTensorData(bytes(new BigUint64Array([5n])), 'uint64', 'strict').values).toEqual(new Int32Array([5]));
    expect(toTensorData(bytes(new BigUint64Array([2n ** 63n])), 'uint64', 'convert').lossy).toContain(
      '9223372036854775808',
    );
    expect(toTensorData(bytes(new Uint32Array([7])), 'uint32', 'strict').values).toEqual(new Int32Array([7]));
    expect(toTensorData(bytes(new Uint32Array([2 ** 31])), 'uint32', 'convert').lossy).toContain('2147483648');
  });

  it('float64 and complex128 are lossy only when a value changes', () => {
    expect(toTensorData(bytes(new Float64Array([0.5, -2, NaN, Infinity])), 'float64', 'strict').lossy).toBeUndefined();
    const r = toTensorData(bytes(new Float64Array([0.1, 1])), 'float64', 'convert');
    expect(r.values).toEqual(new Float32Array([0.1, 1]));
    expect(r.lossy).toMatch(
      /^float64 -> float32: 1 of 2 values rounded \(first at element 0: 0.1 -> 0.10000000149011612\)$/,
    );
    expect(() => toTensorData(bytes(new Float64Array([1e300, 0])), 'complex128', 'strict')).toThrow(
      expect.objectContaining({ code: 'DTYPE_LOSSY' }),
    );
  });

  it('bool bytes other than 0/1 become 1', () => {
    expect(Array.from(toTensorData(new Uint8Array([0, 1, 2, 255]), 'bool', 'strict').values)).toEqual([0, 1, 1, 1]);
  });

  it('quantized and bits dtypes are DTYPE_UNSUPPORTED; a partial element is DTYPE_BYTES', () => {
    expect(() => toTensorData(new Uint8Array(4), 'qint8', 'convert')).toThrow(
      expect.objectContaining({ code: 'DTYPE_UNSUPPORTED' }),
    );
    expect(() => toTensorData(new Uint8Array(2), 'bits16', 'convert')).toThrow(
      expect.objectContaining({ code: 'DTYPE_UNSUPPORTED' }),
    );
    expect(() => toTensorData(new Uint8Array(6), 'float32', 'convert')).toThrow(
      expect.objectContaining({
        code: 'DTYPE_BYTES',
        message: 'expected a multiple of 4 bytes for float32, found 6 bytes',
      }),
    );
  });
});

describe('rawView', () => {
  it.each([
    ['float64', Float64Array],
    ['complex128', Float64Array],
    ['float16', Uint16Array],
    ['bfloat16', Uint16Array],
    ['int64', BigInt64Array],
    ['uint64', BigUint64Array],
    ['uint32', Uint32Array],
    ['int16', Int16Array],
    ['int8', Int8Array],
    ['qint8', Int8Array],
    ['qint32', Int32Array],
    ['quint4x2', Uint8Array],
    ['float8_e5m2', Uint8Array],
  ] as const)('%s -> %s view', (d, Ctor) => {
    const buf = new ArrayBuffer(32);
    const v = rawView(new Uint8Array(buf, 16, 16), d);
    expect(v).toBeInstanceOf(Ctor);
    expect(v.buffer).toBe(buf);
    expect(v.byteLength).toBe(16);
  });

  it('copies when unaligned and keeps the bits', () => {
    const src = new Uint8Array(9);
    new DataView(src.buffer).setBigInt64(1, -5n, true);
    expect(Array.from(rawView(src.subarray(1), 'int64') as BigInt64Array)).toEqual([-5n]);
  });
});

describe('fromTensorData (writer side)', () => {
  it('int32 -> int64 sign-extends', () => {
    const out = fromTensorData(new Int32Array([-1, 2, -2147483648]), 'int64');
    expect(Array.from(new BigInt64Array(out.slice().buffer))).toEqual([-1n, 2n, -2147483648n]);
  });

  it('round-trips every widening conversion', () => {
    const cases: [TorchDType, ArrayBufferView][] = [
      ['float16', new Uint16Array([0x3c00, 0x0001, 0x7bff, 0xfc00])],
      ['bfloat16', new Uint16Array([0x3f80, 0x0001, 0x7f7f, 0xff80])],
      ['complex32', new Uint16Array([0x3c00, 0xc000])],
      ['int8', new Int8Array([-128, 127])],
      ['int16', new Int16Array([-32768, 32767])],
      ['uint8', new Uint8Array([0, 255])],
      ['uint16', new Uint16Array([0, 65535])],
      ['int64', new BigInt64Array([-3n, 2147483647n])],
      ['uint64', new BigUint64Array([0n, 2147483647n])],
      ['uint32', new Uint32Array([0, 2147483647])],
      ['float64', new Float64Array([0.5, -2])],
      ['complex128', new Float64Array([0.5, -2])],
      ['float32', new Float32Array([0.1, -2])],
      ['complex64', new Float32Array([0.1, -2])],
      ['int32', new Int32Array([-7, 7])],
      ['bool', new Uint8Array([0, 1])],
    ];
    for (const [d, src] of cases) {
      const t = toTensorData(bytes(src), d, 'strict');
      expect(Array.from(fromTensorData(t.values, d)), d).toEqual(Array.from(bytes(src)));
    }
  });

  it('float32/int32 output is a view of the values (no copy)', () => {
    const v = new Float32Array([1, 2]);
    expect(fromTensorData(v, 'float32').buffer).toBe(v.buffer);
  });

  it('refuses values that do not fit and mismatched kinds', () => {
    expect(() => fromTensorData(new Int32Array([128]), 'int8')).toThrow(
      expect.objectContaining({
        code: 'DTYPE_LOSSY',
        message: 'cannot write 128 as int8: expected values in [-128, 127] (element 0)',
      }),
    );
    expect(() => fromTensorData(new Int32Array([-1]), 'uint64')).toThrow(
      expect.objectContaining({ code: 'DTYPE_LOSSY' }),
    );
    expect(() => fromTensorData(new Float32Array([1]), 'int32')).toThrow(
      expect.objectContaining({ code: 'DTYPE_UNSUPPORTED' }),
    );
    expect(() => fromTensorData(new Int32Array([1]), 'float32')).toThrow(
      expect.objectContaining({ code: 'DTYPE_UNSUPPORTED' }),
    );
    expect(() => fromTensorData(new Float32Array([1]), 'float8_e4m3fn')).toThrow(
      expect.objectContaining({ code: 'DTYPE_UNSUPPORTED' }),
    );
  });
});

import { createDeviceRuntime, device, MetaTensor, type Device, type DeviceRuntime, type TorchDType } from '@x/device';
import type { Tensor } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from '../errors.js';
import {
  gather,
  isContiguous,
  materialise,
  numel,
  RawTensor,
  tensorInfo,
  type AnyTensorRef,
  type MaterialiseContext,
  type SparseTensors,
} from './materialise.js';
import type { Geometry, QuantizedTensorRef, SparseTensorRef } from '../pickle/tensor-refs.js';
import type { StorageRef, TensorRef } from '../pickle/values.js';

/** Reference gather: element i (C order) comes from offset + Σ index_d · stride_d, by plain recursion. */
function naiveGather(bytes: Uint8Array, view: Geometry, itemSize: number): Uint8Array {
  const out: number[] = [];
  const visit = (dim: number, at: number): void => {
    if (dim === view.shape.length) {
      for (let b = 0; b < itemSize; b++) out.push(bytes[at * itemSize + b]!);
      return;
    }
    for (let i = 0; i < view.shape[dim]!; i++) visit(dim + 1, at + i * view.stride[dim]!);
  };
  if (numel(view.shape) > 0) visit(0, view.offset);
  return Uint8Array.from(out);
}

const counting = (n: number, offset = 0): Uint8Array => {
  const b = new Uint8Array(n + offset);
  for (let i = 0; i < n; i++) b[i + offset] = (i * 7 + 3) & 0xff;
  return b.subarray(offset);
};

describe('gather', () => {
  const cases: [string, Geometry, number][] = [
    ['transpose [3,2] of [2,3]', { offset: 0, shape: [3, 2], stride: [1, 3] }, 4],
    ['step slice', { offset: 1, shape: [8], stride: [3] }, 4],
    ['permute (4,2,3)/(1,12,4)', { offset: 0, shape: [4, 2, 3], stride: [1, 12, 4] }, 4],
    ['expand stride 0', { offset: 0, shape: [3], stride: [0] }, 4],
    ['expand 2-d with offset', { offset: 2, shape: [2, 3], stride: [0, 1] }, 8],
    ['complex128 transposed', { offset: 0, shape: [2, 2], stride: [1, 2] }, 16],
    ['float16 stepped', { offset: 1, shape: [2, 2], stride: [4, 2] }, 2],
    ['bytes stepped', { offset: 0, shape: [3, 2], stride: [1, 4] }, 1],
    ['size-1 dims with odd strides', { offset: 0, shape: [1, 3, 1], stride: [99, 2, 99] }, 4],
  ];
  for (const [name, view, itemSize] of cases) {
    it(name, () => {
      const storage = counting(24 * 16);
      expect(gather(storage, view, itemSize)).toEqual(naiveGather(storage, view, itemSize));
    });
  }

  it('copies by bytes when the storage is unaligned', () => {
    const storage = counting(96, 1);
    const view = { offset: 0, shape: [3, 2], stride: [1, 3] };
    expect(storage.byteOffset % 4).toBe(1);
    expect(gather(storage, view, 4)).toEqual(naiveGather(storage, view, 4));
  });

  it('a contiguous view is a zero-copy subarray; 0-d and empty views work', () => {
    const storage = counting(96);
    const slice = gather(storage, { offset: 2, shape: [3], stride: [1] }, 4);
    expect(slice.buffer).toBe(storage.buffer);
    expect(slice.byteOffset).toBe(8);
    expect(slice.length).toBe(12);
    expect(gather(storage, { offset: 5, shape: [], stride: [] }, 4)).toEqual(storage.subarray(20, 24));
    expect(gather(storage, { offset: 0, shape: [0, 3], stride: [3, 1] }, 4).length).toBe(0);
    expect(isContiguous([2, 1, 3], [3, 7, 1])).toBe(true);
    expect(isContiguous([3, 2], [1, 3])).toBe(false);
  });
});

const storageRef = (key: string, dtype: TorchDType, bytes: Uint8Array, location = 'cpu', itemSize = 4): StorageRef =>
  Object.freeze({ key, dtype, location, numel: bytes.length / itemSize, byteLength: bytes.length });

const tensorRef = (
  storage: StorageRef,
  shape: number[],
  stride: number[],
  offset = 0,
  dtype = storage.dtype,
  extra: object = {},
): TensorRef =>
  Object.freeze({ storage, offset, shape, stride, dtype, requiresGrad: false, parameter: false, ...extra });

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('materialise', () => {
  let rt: DeviceRuntime;
  beforeAll(async () => {
    rt = await createDeviceRuntime({ cuda: false });
  });

  function ctx(
    data: Map<StorageRef, Uint8Array>,
    mode: MaterialiseContext['mode'] = 'convert',
    target: Device = device('cpu'),
  ): MaterialiseContext {
    return {
      runtime: rt,
      mode,
      bytes: (s) => {
        const b = data.get(s);
        if (b === undefined) throw new Error(`storage ${s.key} was read`);
        return b;
      },
      target: () => target,
      inlineTarget: () => target,
    };
  }
  const values = (t: unknown) => Array.from((t as Tensor).dataSync());

  it('places a contiguous float32 view zero-copy on the cpu backend', () => {
    const bytes = f32(1, 2, 3, 4, 5, 6);
    const s = storageRef('0', 'float32', bytes);
    const r = materialise(tensorRef(s, [2, 3], [3, 1]), 'w', ctx(new Map([[s, bytes]])));
    const t = r.value as Tensor;
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect((t.dataSync() as Float32Array).buffer).toBe(bytes.buffer);
    expect(String(r.device)).toBe('cpu');
    expect(r.conversion).toBeUndefined();
    expect(tensorInfo(t)?.torchDType).toBe('float32');
  });

  it('gathers a transposed view and widens float16 exactly (reported)', () => {
    // float16 bit patterns of 1, 2, 3, 4, 5, 6: 0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600
    const bytes = new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600]).buffer);
    const s = storageRef('0', 'float16', bytes, 'cpu', 2);
    const r = materialise(tensorRef(s, [3, 2], [1, 3]), 'h', ctx(new Map([[s, bytes]])));
    expect(values(r.value)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(r.conversion).toEqual({ from: 'float16', to: 'float32', lossy: undefined, step: 'widened' });
    expect(tensorInfo(r.value)?.torchDType).toBe('float16');
  });

  it('float64: convert reports the rounding, strict fails with TENSOR_LOSSY_DTYPE, raw returns a Float64Array', () => {
    const bytes = new Uint8Array(new Float64Array([0.1, 0.5]).buffer);
    const s = storageRef('0', 'float64', bytes, 'cpu', 8);
    const ref = tensorRef(s, [2], [1]);
    const r = materialise(ref, 'd', ctx(new Map([[s, bytes]])));
    expect(values(r.value)).toEqual([Math.fround(0.1), 0.5]);
    expect(r.conversion?.lossy).toContain('1 of 2 values rounded');
    let code: string | undefined;
    try {
      materialise(ref, 'd', ctx(new Map([[s, bytes]]), 'strict'));
    } catch (e) {
      code = isCheckpointError(e) ? e.code : String(e);
    }
    expect(code).toBe('TENSOR_LOSSY_DTYPE');
    const raw = materialise(ref, 'd', ctx(new Map([[s, bytes]]), 'raw')).value as RawTensor;
    expect(raw).toBeInstanceOf(RawTensor);
    expect(raw.data).toBeInstanceOf(Float64Array);
    expect(Array.from(raw.data as Float64Array)).toEqual([0.1, 0.5]);
  });

  it('raw int64 is a BigInt64Array of the gathered elements', () => {
    const bytes = new Uint8Array(new BigInt64Array([1n, 2n ** 40n, -3n, 4n]).buffer);
    const s = storageRef('0', 'int64', bytes, 'cpu', 8);
    const raw = materialise(tensorRef(s, [2], [2], 1), 'i', ctx(new Map([[s, bytes]]), 'raw')).value as RawTensor;
    expect(Array.from(raw.data as BigInt64Array)).toEqual([2n ** 40n, 4n]);
  });

  it('raw mode keeps the whole storage under a view that does not cover it (only there, and never in convert mode)', () => {
    // torch 2.13's CSR col_indices: 6 int64 at offset 6 of a 12-element storage whose first half is still written
    const bytes = new Uint8Array(new BigInt64Array([0n, 0n, 1n, 2n, 3n, 3n, 0n, 3n, 2n, 1n, 0n, 3n]).buffer);
    const s = storageRef('0', 'int64', bytes, 'cpu', 8);
    const data = new Map([[s, bytes]]);
    const tail = materialise(tensorRef(s, [6], [1], 6), 'col', ctx(data, 'raw')).value as RawTensor;
    expect(Array.from(tail.data as BigInt64Array)).toEqual([0n, 3n, 2n, 1n, 0n, 3n]);
    expect(tensorInfo(tail)?.storage).toBe(bytes);
    expect(tensorInfo(materialise(tensorRef(s, [12], [1]), 'whole', ctx(data, 'raw')).value)?.storage).toBeUndefined();
    expect(tensorInfo(materialise(tensorRef(s, [6], [1], 6), 'col', ctx(data)).value)?.storage).toBeUndefined();
  });

  it('applies conj and neg bits without touching the shared storage', () => {
    const bytes = f32(1, 2, 3, -4); // complex64 [1+2i, 3-4i]
    const s = storageRef('0', 'complex64', bytes, 'cpu', 8);
    const conj = materialise(
      tensorRef(s, [2], [1], 0, 'complex64', { conj: true, neg: false }),
      'c',
      ctx(new Map([[s, bytes]])),
    );
    expect(values(conj.value)).toEqual([1, -2, 3, 4]);
    const neg = materialise(
      tensorRef(s, [2], [1], 0, 'complex64', { conj: false, neg: true }),
      'n',
      ctx(new Map([[s, bytes]]), 'raw'),
    );
    expect(Array.from((neg.value as RawTensor).data as Float32Array)).toEqual([-1, -2, -3, 4]);
    expect(Array.from(new Float32Array(bytes.buffer))).toEqual([1, 2, 3, -4]);
  });

  it('dequantizes per-tensor: (q - zero_point) * scale, rounded to float32', () => {
    const bytes = Uint8Array.from([10, 20, 0, 255]);
    const s = storageRef('0', 'quint8', bytes, 'cpu', 1);
    const q: QuantizedTensorRef = {
      kind: 'quantized',
      data: tensorRef(s, [4], [1]),
      quantizer: { qscheme: 'per_tensor_affine', scale: 0.1, zeroPoint: 10 },
      requiresGrad: false,
    };
    const r = materialise(q, 'q', ctx(new Map([[s, bytes]])));
    expect(values(r.value)).toEqual([10, 20, 0, 255].map((v) => Math.fround((v - 10) * 0.1)));
    expect(r.conversion?.step).toBe('dequantized (per_tensor_affine, scale 0.1, zero_point 10)');
    expect(tensorInfo(r.value)?.torchDType).toBe('quint8');
  });

  it('dequantizes per-channel along the axis', () => {
    const data = new Uint8Array(new Int8Array([1, 2, 3, -1, -2, -3]).buffer);
    const scales = new Uint8Array(new Float64Array([0.5, 2]).buffer);
    const zeros = new Uint8Array(new BigInt64Array([0n, 1n]).buffer);
    const [sd, ss, sz] = [
      storageRef('0', 'qint8', data, 'cpu', 1),
      storageRef('1', 'float64', scales, 'cpu', 8),
      storageRef('2', 'int64', zeros, 'cpu', 8),
    ];
    const q: QuantizedTensorRef = {
      kind: 'quantized',
      data: tensorRef(sd, [2, 3], [3, 1]),
      quantizer: {
        qscheme: 'per_channel_affine',
        scales: tensorRef(ss, [2], [1]),
        zeroPoints: tensorRef(sz, [2], [1]),
        axis: 0,
      },
      requiresGrad: false,
    };
    const r = materialise(
      q,
      'pc',
      ctx(
        new Map([
          [sd, data],
          [ss, scales],
          [sz, zeros],
        ]),
      ),
    );
    // row 0: (q - 0) * 0.5; row 1: (q - 1) * 2
    expect(values(r.value)).toEqual([0.5, 1, 1.5, -4, -6, -8]);
  });

  it('sparse COO becomes { layout, shape, indices, values } component tensors', () => {
    const idx = new Uint8Array(new BigInt64Array([0n, 1n, 2n, 0n]).buffer); // [[0, 1], [2, 0]]
    const val = f32(7, 8);
    const [si, sv] = [storageRef('0', 'int64', idx, 'cpu', 8), storageRef('1', 'float32', val)];
    const sp: SparseTensorRef = {
      kind: 'sparse',
      layout: 'sparse_coo',
      shape: [2, 3],
      indices: tensorRef(si, [2, 2], [2, 1]),
      values: tensorRef(sv, [2], [1]),
      coalesced: true,
    };
    const r = materialise(
      sp,
      's',
      ctx(
        new Map([
          [si, idx],
          [sv, val],
        ]),
      ),
    );
    const v = r.value as SparseTensors & { layout: 'sparse_coo' };
    expect(v.layout).toBe('sparse_coo');
    expect(v.shape).toEqual([2, 3]);
    expect(values(v.indices)).toEqual([0, 1, 2, 0]);
    expect((v.indices as Tensor).dtype).toBe('int32');
    expect(values(v.values)).toEqual([7, 8]);
  });

  it('meta tensors and storages placed on meta become MetaTensors without reading data', () => {
    const m: AnyTensorRef = { kind: 'meta', dtype: 'float16', shape: [3, 4], stride: [4, 1], requiresGrad: false };
    const r = materialise(m, 'm', ctx(new Map()));
    expect(r.value).toBeInstanceOf(MetaTensor);
    expect((r.value as MetaTensor).shape).toEqual([3, 4]);
    expect(String(r.device)).toBe('meta');
    const s = storageRef('0', 'float32', f32(1, 2));
    const placedMeta = materialise(tensorRef(s, [2], [1]), 'x', ctx(new Map(), 'convert', device('meta')));
    expect(placedMeta.value).toBeInstanceOf(MetaTensor);
  });

  it('rejects dtypes TF.js cannot hold outside raw mode', () => {
    const bytes = Uint8Array.from([1, 2]);
    const s = storageRef('0', 'bits8', bytes, 'cpu', 1);
    expect(() => materialise(tensorRef(s, [2], [1]), 'b', ctx(new Map([[s, bytes]])))).toThrow(/bits8/);
  });
});

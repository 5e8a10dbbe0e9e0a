import { Device } from '@x/device';
import { PickleBuilder, type PidSpec, type TensorSpec } from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import {
  Layout,
  type MetaTensorRef,
  type QuantizedTensorRef,
  type RebuiltTensorRef,
  type SparseTensorRef,
} from './tensor-refs.js';
import { expectCode } from '../testing/helpers.js';
import { DType, isFloat, OrderedDict, TorchSize, tuple } from './values.js';
import { PyGlobal } from './globals.js';
import { numpyInfo } from './numpy.js';
import { createStorageTable, storageFromPid } from './storage.js';
import { unpickle } from './unpickler.js';

const p = () => new PickleBuilder().proto(2);
const FLOAT6: TensorSpec = {
  storage: 'FloatStorage',
  key: '0',
  location: 'cpu',
  numel: 6,
  offset: 0,
  size: [2, 3],
  stride: [3, 1],
};
const loadWithStorages = (b: PickleBuilder, options = {}) => {
  const table = createStorageTable();
  return { value: unpickle(b.bytes(), { persistentLoad: table.persistentLoad, ...options }), table };
};
const load = (b: PickleBuilder) => loadWithStorages(b).value;
const storageType = (name: string) =>
  new PyGlobal(
    name === 'UntypedStorage' ? 'torch.storage' : 'torch',
    name,
    name === 'UntypedStorage' ? 'untyped_storage' : 'storage',
  );

/** `_rebuild_tensor_v2` with arbitrary argument builders (for malformed calls). */
function v2(pid: PidSpec, rest: (b: PickleBuilder) => PickleBuilder): PickleBuilder {
  return rest(p().global('torch._utils', '_rebuild_tensor_v2').mark().persistentId(pid)).tuple().reduce().stop();
}

describe('storageFromPid', () => {
  it('describes typed and untyped storages', () => {
    expect(storageFromPid(tuple('storage', storageType('HalfStorage'), '3', 'cuda:1', 10))).toEqual({
      key: '3',
      dtype: 'float16',
      location: 'cuda:1',
      numel: 10,
      byteLength: 20,
    });
    expect(storageFromPid(tuple('storage', storageType('UntypedStorage'), '0', 'cpu', 7))).toEqual({
      key: '0',
      dtype: 'uint8',
      location: 'cpu',
      numel: 7,
      byteLength: 7,
    });
    // torch's _maybe_decode_ascii; legacy 6-tuples end with view_metadata None
    expect(
      storageFromPid(
        tuple(new TextEncoder().encode('storage'), storageType('LongStorage'), '1135442144', 'cpu', 2, null),
      ),
    ).toMatchObject({ dtype: 'int64', byteLength: 16 });
  });

  it.each([
    ['an int', 0],
    ['4 items', tuple('storage', storageType('FloatStorage'), '0', 'cpu')],
    ['6 items with view metadata', tuple('storage', storageType('FloatStorage'), '0', 'cpu', 1, tuple(0, 1))],
    ["'module'", tuple('module', storageType('FloatStorage'), '0', 'cpu', 1)],
    ["'Storage'", tuple('Storage', storageType('FloatStorage'), '0', 'cpu', 1)],
    ['a dtype as storage type', tuple('storage', new DType('float32'), '0', 'cpu', 1)],
    ['numel -1', tuple('storage', storageType('FloatStorage'), '0', 'cpu', -1)],
    ['numel 1.5', tuple('storage', storageType('FloatStorage'), '0', 'cpu', 1.5)],
    ['numel True', tuple('storage', storageType('FloatStorage'), '0', 'cpu', true)],
    ['numel 2**60', tuple('storage', storageType('FloatStorage'), '0', 'cpu', 2n ** 60n)],
    ['location cpu\\0', tuple('storage', storageType('FloatStorage'), '0', 'cpu\u0000', 1)],
    ['a 1 KB location', tuple('storage', storageType('FloatStorage'), '0', 'c'.repeat(1024), 1)],
    ['numel whose bytes overflow 2^53', tuple('storage', storageType('ComplexDoubleStorage'), '0', 'cpu', 2 ** 50)],
  ])('STORAGE_BAD_PID for %s', async (_, pid) => {
    await expectCode(() => storageFromPid(pid), 'STORAGE_BAD_PID');
  });

  it.each(['../version', '/x', 'a\\b', '0\u0000', '\uff10', 'k'.repeat(100), new Uint8Array([0x30]), 0])(
    'STORAGE_BAD_KEY for key %j',
    async (key) => {
      await expectCode(
        () => storageFromPid(tuple('storage', storageType('FloatStorage'), key, 'cpu', 1)),
        'STORAGE_BAD_KEY',
      );
    },
  );

  it('a storage table shares one StorageRef per key and refuses conflicting declarations', async () => {
    const table = createStorageTable();
    const a = table.persistentLoad(tuple('storage', storageType('FloatStorage'), '0', 'cpu', 4), {});
    expect(table.persistentLoad(tuple('storage', storageType('FloatStorage'), '0', 'cpu', 4), {})).toBe(a);
    await expectCode(
      () => table.persistentLoad(tuple('storage', storageType('LongStorage'), '0', 'cpu', 2), {}),
      'STORAGE_CONFLICT',
    );
  });
});

describe('tensor rebuilds', () => {
  it('views of one storage share its StorageRef', () => {
    const pid = { storage: 'FloatStorage', key: '0', location: 'cpu', numel: 100 };
    const b = p()
      .mark()
      .tensorV2({ ...pid, offset: 0, size: [100], stride: [1] })
      .tensorV2({ ...pid, offset: 0, size: [50], stride: [2] })
      .tensorV2({ ...pid, offset: 1, size: [50], stride: [2], requiresGrad: true })
      .list()
      .stop();
    const { value, table } = loadWithStorages(b);
    const [x, even, odd] = value as RebuiltTensorRef[];
    expect(even!.storage).toBe(x!.storage);
    expect(odd).toMatchObject({ offset: 1, shape: [50], stride: [2], requiresGrad: true, parameter: false });
    expect(table.storages.size).toBe(1);
  });

  it('_rebuild_parameter, _rebuild_parameter_with_state, Parameter(), _rebuild_from_type_v2', () => {
    const param = load(
      p()
        .global('torch._utils', '_rebuild_parameter')
        .mark()
        .tensorV2(FLOAT6)
        .newTrue()
        .orderedDict()
        .tuple()
        .reduce()
        .stop(),
    );
    expect(param).toMatchObject({ parameter: true, requiresGrad: true, shape: [2, 3], state: undefined });
    const withState = load(
      p()
        .global('torch._utils', '_rebuild_parameter_with_state')
        .mark()
        .tensorV2(FLOAT6)
        .newFalse()
        .orderedDict()
        .emptyDict()
        .str('tag')
        .str('x')
        .setitem()
        .tuple()
        .reduce()
        .stop(),
    );
    expect(withState).toMatchObject({ parameter: true, requiresGrad: false, state: new Map([['tag', 'x']]) });
    const cls = load(p().global('torch.nn.parameter', 'Parameter').tensorV2(FLOAT6).tuple1().newobj().stop());
    expect(cls).toMatchObject({ parameter: true, requiresGrad: true });
    const sub = load(
      p()
        .global('torch._tensor', '_rebuild_from_type_v2')
        .mark()
        .global('torch._utils', '_rebuild_tensor_v2')
        .global('torch.nn.parameter', 'Parameter')
        .mark()
        .persistentId(FLOAT6)
        .int(0)
        .intTuple([6])
        .intTuple([1])
        .newFalse()
        .orderedDict()
        .tuple()
        .emptyDict()
        .tuple()
        .reduce()
        .stop(),
    );
    expect(sub).toMatchObject({ parameter: true, shape: [6], state: undefined });
    // old pickles spell the module torch.tensor
    const old = load(
      p()
        .global('torch.tensor', '_rebuild_from_type_v2')
        .mark()
        .global('torch._utils', '_rebuild_tensor_v2')
        .global('torch', 'Tensor')
        .mark()
        .persistentId(FLOAT6)
        .int(0)
        .intTuple([6])
        .intTuple([1])
        .newFalse()
        .orderedDict()
        .tuple()
        .none()
        .tuple()
        .reduce()
        .stop(),
    );
    expect(old).toMatchObject({ parameter: false, shape: [6] });
  });

  it('_rebuild_from_type_v2 only rebuilds tensors as Tensor or Parameter', async () => {
    const call = (fn: [string, string], cls: [string, string]) =>
      p()
        .global('torch._tensor', '_rebuild_from_type_v2')
        .mark()
        .global(...fn)
        .global(...cls)
        .emptyTuple()
        .emptyDict()
        .tuple()
        .reduce()
        .stop();
    await expectCode(() => load(call(['collections', 'OrderedDict'], ['torch', 'Tensor'])), 'PICKLE_TYPE');
    await expectCode(
      () => load(call(['torch._utils', '_rebuild_tensor_v2'], ['collections', 'OrderedDict'])),
      'PICKLE_TYPE',
    );
  });

  it('metadata conj/neg (torch ≥ 2.0) is kept; anything else is unsupported', async () => {
    const conj = load(
      v2(FLOAT6, (b) =>
        b.int(0).intTuple([6]).intTuple([1]).newFalse().orderedDict().emptyDict().str('conj').newTrue().setitem(),
      ),
    );
    expect(conj).toMatchObject({ conj: true, neg: false });
    await expectCode(
      () =>
        load(
          v2(FLOAT6, (b) =>
            b.int(0).intTuple([6]).intTuple([1]).newFalse().orderedDict().emptyDict().str('x').newTrue().setitem(),
          ),
        ),
      'TENSOR_UNSUPPORTED',
    );
  });

  it('wrong arguments to _rebuild_tensor_v2', async () => {
    const args = (b: PickleBuilder) => b.int(0).intTuple([6]).intTuple([1]);
    await expectCode(() => load(v2(FLOAT6, (b) => args(b))), 'PICKLE_TYPE'); // 4 args
    await expectCode(() => load(v2(FLOAT6, (b) => args(b).newFalse().orderedDict().none().none())), 'PICKLE_TYPE'); // 8 args
    await expectCode(() => load(v2(FLOAT6, (b) => args(b).int(2).orderedDict())), 'PICKLE_TYPE'); // requires_grad=2
    await expectCode(
      () => load(v2(FLOAT6, (b) => b.int(0).binfloat(6).tuple1().intTuple([1]).newFalse().orderedDict())),
      'PICKLE_TYPE',
    ); // size (6.0,)
    await expectCode(
      () => load(v2(FLOAT6, (b) => args(b).newFalse().orderedDict().str('k').global('torch', 'float32').setitem())),
      'PICKLE_TYPE',
    ); // hooks not empty
    await expectCode(
      () =>
        load(
          p()
            .global('torch._utils', '_rebuild_tensor_v2')
            .mark()
            .int(0)
            .int(0)
            .intTuple([1])
            .intTuple([1])
            .newFalse()
            .orderedDict()
            .tuple()
            .reduce()
            .stop(),
        ),
      'PICKLE_TYPE',
    ); // no storage
  });

  it.each([
    ['size (-1,)', { size: [-1], stride: [1] }],
    ['stride (-1,)', { size: [2], stride: [-1] }],
    ['len(size) != len(stride)', { size: [2, 3], stride: [1] }],
    ['storage offset -1', { offset: -1, size: [1], stride: [1] }],
    ['rank 100', { size: new Array<number>(100).fill(1), stride: new Array<number>(100).fill(1) }],
    ['(2**31,)*3 elements', { size: [2 ** 31, 2 ** 31, 2 ** 31], stride: [0, 0, 0] }],
    ['(0, 2**62): a zero-element view with a dimension above 2^53', { size: [0, 2 ** 62], stride: [1, 1] }],
  ])('TENSOR_GEOMETRY for %s', async (_, geometry) => {
    const spec = { ...FLOAT6, offset: 0, ...geometry };
    await expectCode(() => load(p().tensorV2(spec).stop()), 'TENSOR_GEOMETRY');
  });

  it("out-of-bounds views fail with torch's message", async () => {
    const e = await expectCode(
      () =>
        load(
          p()
            .tensorV2({ ...FLOAT6, numel: 4, offset: 1, size: [2, 2], stride: [2, 1] })
            .stop(),
        ),
      'TENSOR_OUT_OF_BOUNDS',
    );
    // 4 floats = 16 bytes; last element index 1 + (2-1)*2 + (2-1)*1 = 4, so (4 + 1) * 4 = 20 bytes needed
    expect(e.message).toContain(
      'setStorage: sizes [2, 2], strides [2, 1], storage offset 1, and itemsize 4 requiring a storage size of 20 are out of bounds for storage of size 16',
    );
  });

  it('zero-element views skip the bounds check; stride-0 expansions are views, not data', () => {
    expect(
      load(
        p()
          .tensorV2({ ...FLOAT6, numel: 0, offset: 2 ** 40, size: [0, 5], stride: [5, 1] })
          .stop(),
      ),
    ).toMatchObject({ shape: [0, 5] });
    expect(
      load(
        p()
          .tensorV2({ ...FLOAT6, numel: 1, size: [65536, 65536], stride: [0, 0] })
          .stop(),
      ),
    ).toMatchObject({ shape: [65536, 65536], stride: [0, 0] });
  });

  it('_rebuild_tensor_v3: dtype from the 7th argument over an UntypedStorage', async () => {
    const v3 = (size: number[]) =>
      p()
        .global('torch._utils', '_rebuild_tensor_v3')
        .mark()
        .persistentId({ storage: 'UntypedStorage', key: '0', location: 'cpu', numel: 8 })
        .int(0)
        .intTuple(size)
        .intTuple([1])
        .newFalse()
        .orderedDict()
        .global('torch', 'float8_e4m3fn')
        .tuple()
        .reduce()
        .stop();
    expect(load(v3([8]))).toMatchObject({ dtype: 'float8_e4m3fn', storage: { dtype: 'uint8', byteLength: 8 } });
    const v3u16 = p()
      .global('torch._utils', '_rebuild_tensor_v3')
      .mark()
      .persistentId({ storage: 'UntypedStorage', key: '0', location: 'cpu', numel: 8 })
      .int(0)
      .intTuple([5])
      .intTuple([1])
      .newFalse()
      .orderedDict()
      .global('torch', 'uint16')
      .tuple()
      .reduce()
      .stop();
    await expectCode(() => load(v3u16), 'TENSOR_OUT_OF_BOUNDS'); // 5 * 2 bytes > 8
  });

  it('_rebuild_tensor (v1) and the legacy torch.Tensor() + BUILD path', async () => {
    expect(
      load(
        p()
          .global('torch._utils', '_rebuild_tensor')
          .mark()
          .persistentId(FLOAT6)
          .int(1)
          .intTuple([5])
          .intTuple([1])
          .tuple()
          .reduce()
          .stop(),
      ),
    ).toMatchObject({ offset: 1, shape: [5] });
    const built = p()
      .global('torch', 'Tensor')
      .emptyTuple()
      .reduce()
      .binput(0)
      .mark()
      .persistentId(FLOAT6)
      .int(0)
      .intTuple([6])
      .intTuple([1])
      .tuple()
      .build()
      .pop()
      .binget(0)
      .stop();
    expect(load(built)).toMatchObject({ shape: [6], stride: [1], requiresGrad: false });
    await expectCode(() => load(p().global('torch', 'Tensor').emptyTuple().reduce().stop()), 'PICKLE_TYPE'); // never BUILT
  });

  it('_rebuild_qtensor: per-tensor and per-channel quantizers', () => {
    const q = load(
      p()
        .global('torch._utils', '_rebuild_qtensor')
        .mark()
        .persistentId({ storage: 'QInt8Storage', key: '0', location: 'cpu', numel: 4 })
        .int(0)
        .intTuple([4])
        .intTuple([1])
        .global('torch', 'per_tensor_affine')
        .binfloat(0.5)
        .int(3)
        .tuple3()
        .newFalse()
        .orderedDict()
        .tuple()
        .reduce()
        .stop(),
    ) as QuantizedTensorRef;
    expect(q).toMatchObject({
      kind: 'quantized',
      data: { dtype: 'qint8', shape: [4] },
      quantizer: { qscheme: 'per_tensor_affine', scale: 0.5, zeroPoint: 3 },
    });
    const pc = load(
      p()
        .global('torch._utils', '_rebuild_qtensor')
        .mark()
        .persistentId({ storage: 'QUInt8Storage', key: '0', location: 'cpu', numel: 4 })
        .int(0)
        .intTuple([2, 2])
        .intTuple([2, 1])
        .mark()
        .global('torch', 'per_channel_affine')
        .tensorV2({ storage: 'DoubleStorage', key: '1', location: 'cpu', numel: 2, offset: 0, size: [2], stride: [1] })
        .tensorV2({ storage: 'LongStorage', key: '2', location: 'cpu', numel: 2, offset: 0, size: [2], stride: [1] })
        .int(0)
        .tuple()
        .newFalse()
        .orderedDict()
        .tuple()
        .reduce()
        .stop(),
    ) as QuantizedTensorRef;
    expect(pc.quantizer).toMatchObject({
      qscheme: 'per_channel_affine',
      axis: 0,
      scales: { dtype: 'float64' },
      zeroPoints: { dtype: 'int64' },
    });
  });

  it('sparse COO (1.13 3-tuple and 2.x 4-tuple) and CSR', () => {
    const coo = (coalesced: boolean | undefined) => {
      const b = p()
        .global('torch._utils', '_rebuild_sparse_tensor')
        .global('torch.serialization', '_get_layout')
        .str('torch.sparse_coo')
        .tuple1()
        .reduce()
        .mark()
        .tensorV2({
          storage: 'LongStorage',
          key: '0',
          location: 'cpu',
          numel: 4,
          offset: 0,
          size: [2, 2],
          stride: [2, 1],
        })
        .tensorV2({ storage: 'FloatStorage', key: '1', location: 'cpu', numel: 2, offset: 0, size: [2], stride: [1] })
        .global('torch', 'Size')
        .intTuple([3, 3])
        .tuple1()
        .reduce();
      if (coalesced !== undefined) b.raw(coalesced ? 0x88 : 0x89);
      return b.tuple().tuple2().reduce().stop();
    };
    expect(load(coo(undefined))).toMatchObject({
      kind: 'sparse',
      layout: 'sparse_coo',
      shape: [3, 3],
      coalesced: undefined,
      indices: { shape: [2, 2] },
    });
    expect((load(coo(true)) as SparseTensorRef & { coalesced: boolean }).coalesced).toBe(true);
    const csr = load(
      p()
        .global('torch._utils', '_rebuild_sparse_csr_tensor')
        .global('torch.serialization', '_get_layout')
        .str('torch.sparse_csr')
        .tuple1()
        .reduce()
        .mark()
        .tensorV2({ storage: 'LongStorage', key: '0', location: 'cpu', numel: 3, offset: 0, size: [3], stride: [1] })
        .tensorV2({ storage: 'LongStorage', key: '1', location: 'cpu', numel: 2, offset: 0, size: [2], stride: [1] })
        .tensorV2({ storage: 'FloatStorage', key: '2', location: 'cpu', numel: 2, offset: 0, size: [2], stride: [1] })
        .intTuple([2, 2])
        .tuple()
        .tuple2()
        .reduce()
        .stop(),
    );
    expect(csr).toMatchObject({ kind: 'sparse', layout: 'sparse_csr', shape: [2, 2], values: { dtype: 'float32' } });
  });

  it('meta tensors have shape and dtype only', () => {
    const meta = load(
      p()
        .global('torch._utils', '_rebuild_meta_tensor_no_storage')
        .mark()
        .global('torch', 'bfloat16')
        .intTuple([2, 3])
        .intTuple([3, 1])
        .newFalse()
        .tuple()
        .reduce()
        .stop(),
    );
    expect(meta as MetaTensorRef).toEqual({
      kind: 'meta',
      dtype: 'bfloat16',
      shape: [2, 3],
      stride: [3, 1],
      requiresGrad: false,
    });
  });

  it('unsupported rebuilds are named, not reported as unsafe', async () => {
    await expectCode(
      () => load(p().global('torch._utils', '_rebuild_wrapper_subclass').emptyTuple().reduce().stop()),
      'TENSOR_UNSUPPORTED',
    );
  });

  it('torch.Size, torch.device, dtypes and layouts as values', () => {
    const v = load(
      p()
        .mark()
        .global('torch', 'Size')
        .intTuple([2, 3])
        .tuple1()
        .reduce()
        .global('torch', 'device')
        .str('cuda')
        .int(1)
        .tuple2()
        .reduce()
        .global('torch', 'device')
        .str('cpu')
        .tuple1()
        .reduce()
        .global('torch', 'float16')
        .global('torch.serialization', '_get_layout')
        .str('torch.strided')
        .tuple1()
        .reduce()
        .list()
        .stop(),
    ) as unknown[];
    expect(v[0]).toBeInstanceOf(TorchSize);
    expect([...(v[0] as TorchSize)]).toEqual([2, 3]);
    expect(v[1]).toBeInstanceOf(Device);
    expect(String(v[1])).toBe('cuda:1');
    expect(String(v[2])).toBe('cpu');
    expect(v[3]).toEqual(new DType('float16'));
    expect(v[4]).toEqual(new Layout('strided'));
  });
});

/** How numpy ≥ 1.x pickles (protocol 2) `np.dtype(typestr)`. */
function npDType(b: PickleBuilder, typestr: string, endian: string): PickleBuilder {
  return b
    .global('numpy', 'dtype')
    .str(typestr)
    .newFalse()
    .newTrue()
    .tuple3()
    .reduce()
    .mark()
    .int(3)
    .str(endian)
    .none()
    .none()
    .none()
    .int(-1)
    .int(-1)
    .int(0)
    .tuple()
    .build();
}

/** How numpy pickles an ndarray: `_reconstruct(ndarray, (0,), b'b')` + BUILD `(1, shape, dtype, fortran, raw)`. */
function npArray(b: PickleBuilder, shape: number[], typestr: string, endian: string, raw: Uint8Array): PickleBuilder {
  b.global('numpy.core.multiarray', '_reconstruct')
    .global('numpy', 'ndarray')
    .intTuple([0])
    .pyBytes(new Uint8Array([0x62]))
    .tuple3()
    .reduce();
  b.mark().int(1).intTuple(shape);
  return npDType(b, typestr, endian).newFalse().pyBytes(raw).tuple().build();
}

describe('numpy values', () => {
  it('arrays become typed arrays in host order with their shape available', () => {
    const f64 = new Uint8Array(new Float64Array([1, 2, 3, 4, 5, 6]).buffer);
    const be = new Uint8Array([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]); // >i4: 1, -2
    const v = load(
      p()
        .mark()
        .raw(npArray(new PickleBuilder(), [2, 3], 'f8', '<', f64).bytes())
        .raw(npArray(new PickleBuilder(), [2], 'i4', '>', be).bytes())
        .list()
        .stop(),
    ) as unknown[];
    expect(v[0]).toEqual(new Float64Array([1, 2, 3, 4, 5, 6]));
    expect(numpyInfo(v[0])).toEqual({
      shape: [2, 3],
      dtype: '<f8',
      fortranOrder: false,
      module: 'numpy.core.multiarray',
    });
    expect(v[1]).toEqual(new Int32Array([1, -2]));
    expect(numpyInfo(v[1])?.dtype).toBe('>i4');
  });

  it('scalars become numbers, bigints and booleans; integral floats are marked', () => {
    const scalar = (b: PickleBuilder, typestr: string, raw: Uint8Array) =>
      npDType(b.global('numpy.core.multiarray', 'scalar'), typestr, typestr === 'b1' ? '|' : '<')
        .pyBytes(raw)
        .tuple2()
        .reduce();
    const v = load(
      scalar(
        scalar(
          scalar(
            scalar(p().emptyDict().mark().str('best'), 'f8', new Uint8Array(new Float64Array([1]).buffer)).str('step'),
            'i8',
            new Uint8Array(new BigInt64Array([2n ** 60n]).buffer),
          ).str('ok'),
          'b1',
          new Uint8Array([1]),
        ).str('half'),
        'f2',
        new Uint8Array([0x00, 0x3c]),
      )
        .setitems()
        .stop(),
    ) as Map<string, unknown>;
    expect(v).toEqual(
      new Map<string, unknown>([
        ['best', 1],
        ['step', 2n ** 60n],
        ['ok', true],
        ['half', 1],
      ]),
    );
    expect(isFloat(v, 'best')).toBe(true);
  });

  it('raw data must match shape and dtype; object and structured dtypes are refused', async () => {
    await expectCode(() => load(npArray(p(), [3], 'f8', '<', new Uint8Array(16)).stop()), 'PICKLE_TYPE');
    await expectCode(() => load(npArray(p(), [1], 'O8', '|', new Uint8Array(8)).stop()), 'PICKLE_TYPE');
    await expectCode(() => load(p().global('numpy', 'ndarray').emptyTuple().reduce().stop()), 'PICKLE_TYPE');
  });

  it('_rebuild_device_tensor_from_numpy keeps the data inline', () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const v = load(
      p()
        .global('torch._utils', '_rebuild_device_tensor_from_numpy')
        .mark()
        .raw(npArray(new PickleBuilder(), [2], 'f4', '<', data).bytes())
        .global('torch', 'bfloat16')
        .str('xla:0')
        .newFalse()
        .tuple()
        .reduce()
        .stop(),
    );
    expect(v).toMatchObject({
      kind: 'inline',
      dtype: 'bfloat16',
      shape: [2],
      device: 'xla:0',
      data: new Float32Array([1, 2]),
    });
  });

  it('OrderedDict stays an OrderedDict inside numpy-bearing optimizer states', () => {
    expect(load(p().orderedDict().stop())).toBeInstanceOf(OrderedDict);
  });
});

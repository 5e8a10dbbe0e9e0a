/**
 * Vectors 68–83: storages and tensors.
 *
 * @module
 */
import { OP, PickleBuilder, type TensorSpec } from '../pickle-builder.js';
import { buildZip, torchZip } from '../zip-builder.js';
import {
  arangeBytes,
  checkpointZip,
  concat,
  floatTensor,
  latin1,
  stateDictPickle,
  validCheckpoint,
  type HostileCase,
} from './common.js';

/** A state dict `{ name: spec }` over `storages`, in a torch zip. */
function tensors(
  vector: number,
  name: string,
  entries: readonly (readonly [string, TensorSpec])[],
  storages: readonly (readonly [string, Uint8Array])[],
  rest: Partial<HostileCase> = {},
): HostileCase {
  return { vector, name, bytes: checkpointZip(stateDictPickle(entries), storages).bytes, ...rest };
}

/** `{'t': _rebuild_tensor_v2(<pid written by pid>, 0, (n,), (1,), False, OrderedDict())}` over data/0 = arange(n). */
function withPid(
  vector: number,
  name: string,
  pid: (p: PickleBuilder) => void,
  n: number,
  rest: Partial<HostileCase>,
): HostileCase {
  const p = new PickleBuilder()
    .proto(2)
    .emptyDict()
    .str('t')
    .global('torch._utils', '_rebuild_tensor_v2')
    .mark()
    .mark();
  pid(p);
  p.tuple().binpersid().int(0).intTuple([n]).intTuple([1]).newFalse().orderedDict().tuple().reduce().setitem().stop();
  return { vector, name, bytes: checkpointZip(p.bytes(), [['0', arangeBytes(n)]]).bytes, ...rest };
}

/**
 * `{'t': tensor}` whose storage key is a 1 MB str, built by concatenation (PickleBuilder.raw
 * spreads its argument, which overflows the stack at this size).
 */
function megabyteKey(): Uint8Array {
  const head = new PickleBuilder()
    .proto(2)
    .emptyDict()
    .str('t')
    .global('torch._utils', '_rebuild_tensor_v2')
    .mark()
    .mark()
    .str('storage')
    .global('torch', 'FloatStorage');
  const key = new Uint8Array(2 ** 20).fill(0x78);
  const length = new PickleBuilder().sized(OP.BINUNICODE, key.length, 4);
  const tail = new PickleBuilder()
    .str('cpu')
    .int(6)
    .tuple()
    .binpersid()
    .int(0)
    .intTuple([6])
    .intTuple([1])
    .newFalse()
    .orderedDict()
    .tuple()
    .reduce()
    .setitem()
    .stop();
  return concat(head.bytes(), length.bytes(), key, tail.bytes());
}

/**
 * Vectors 68–72: storage records of the wrong size, missing records and hostile keys,
 * conflicting declarations, persistent-id shape abuse.
 */
export function storageVectors(): HostileCase[] {
  const key = (k: string, code: string): HostileCase =>
    tensors(
      70,
      `key ${JSON.stringify(k.slice(0, 16))}`,
      [['t', floatTensor(k, 6, [6], [1])]],
      [['0', arangeBytes(6)]],
      { code },
    );
  const fields = (storage: (p: PickleBuilder) => void, rest: (p: PickleBuilder) => void) => (p: PickleBuilder) => {
    storage(p);
    rest(p);
  };
  const std = (p: PickleBuilder) => p.str('storage').global('torch', 'FloatStorage');
  const tail = (location: string, numel: (p: PickleBuilder) => void) => (p: PickleBuilder) => {
    p.str('0').str(location);
    numel(p);
  };
  const six = (p: PickleBuilder) => p.int(6);
  return [
    tensors(68, 'numel 32, record 40 bytes', [['t', floatTensor('0', 32, [32], [1])]], [['0', arangeBytes(10)]], {
      code: 'STORAGE_SIZE_MISMATCH',
    }),
    tensors(69, 'numel 4, record 40 bytes', [['t', floatTensor('0', 4, [4], [1])]], [['0', arangeBytes(10)]], {
      code: 'STORAGE_SIZE_MISMATCH',
    }),
    key('7', 'STORAGE_MISSING'),
    ...['../version', '/x', 'a\\b', '0\u0000', '\uff10'].map((k) => key(k, 'STORAGE_BAD_KEY')),
    {
      vector: 70,
      name: 'key of 1 MB',
      bytes: checkpointZip(megabyteKey(), [['0', arangeBytes(6)]]).bytes,
      code: 'STORAGE_BAD_KEY',
    },
    withPid(
      70,
      'key b"0"',
      fields(std, (p) => p.pyBytes(latin1('0')).str('cpu').int(6)),
      6,
      { code: 'STORAGE_BAD_KEY' },
    ),
    withPid(
      70,
      'key int 0',
      fields(std, (p) => p.int(0).str('cpu').int(6)),
      6,
      { code: 'STORAGE_BAD_KEY' },
    ),
    tensors(
      71,
      'key 0 as FloatStorage then LongStorage',
      [
        ['a', floatTensor('0', 4, [4], [1])],
        ['b', { ...floatTensor('0', 2, [2], [1]), storage: 'LongStorage' }],
      ],
      [['0', arangeBytes(4)]],
      { code: 'STORAGE_CONFLICT' },
    ),
    {
      vector: 72,
      name: 'pid int 0',
      bytes: checkpointZip(latin1('\x80\x02K\x00Q.'), []).bytes,
      code: 'STORAGE_BAD_PID',
    },
    withPid(72, 'pid of 4 items', (p) => std(p).str('0').str('cpu'), 6, { code: 'STORAGE_BAD_PID' }),
    withPid(
      72,
      'pid of 6 items',
      fields(std, (p) => (tail('cpu', six)(p), p.str('x'))),
      6,
      { code: 'STORAGE_BAD_PID' },
    ),
    withPid(72, "typename 'module'", (p) => (p.str('module').global('torch', 'FloatStorage'), tail('cpu', six)(p)), 6, {
      code: 'STORAGE_BAD_PID',
    }),
    withPid(
      72,
      "typename 'Storage'",
      (p) => (p.str('Storage').global('torch', 'FloatStorage'), tail('cpu', six)(p)),
      6,
      { code: 'STORAGE_BAD_PID' },
    ),
    withPid(
      72,
      "typename b'storage'",
      (p) => (p.pyBytes(latin1('storage')).global('torch', 'FloatStorage'), tail('cpu', six)(p)),
      6,
      { accepted: "torch's _maybe_decode_ascii accepts bytes b'storage'" },
    ),
    withPid(72, 'storage type a dtype', (p) => (p.str('storage').global('torch', 'float32'), tail('cpu', six)(p)), 6, {
      code: 'STORAGE_BAD_PID',
    }),
    withPid(
      72,
      'numel -1',
      fields(
        std,
        tail('cpu', (p) => p.int(-1)),
      ),
      6,
      { code: 'STORAGE_BAD_PID' },
    ),
    withPid(
      72,
      'numel 1.5',
      fields(
        std,
        tail('cpu', (p) => p.binfloat(1.5)),
      ),
      6,
      { code: 'STORAGE_BAD_PID' },
    ),
    withPid(
      72,
      'numel True',
      fields(
        std,
        tail('cpu', (p) => p.newTrue()),
      ),
      6,
      { code: 'STORAGE_BAD_PID' },
    ),
    withPid(
      72,
      'numel 2^60',
      fields(
        std,
        tail('cpu', (p) => p.int(2n ** 60n)),
      ),
      6,
      { code: 'STORAGE_BAD_PID' },
    ),
    withPid(72, "location 'cpu\\x00'", fields(std, tail('cpu\u0000', six)), 6, { code: 'STORAGE_BAD_PID' }),
    withPid(72, 'location of 1 KB', fields(std, tail('c'.repeat(1024), six)), 6, { code: 'STORAGE_BAD_PID' }),
  ];
}

/**
 * Vectors 73–77: tensor geometry, out-of-bounds views, zero-element edges, stride-0
 * amplifiers, shared storages and strided views.
 */
export function geometryVectors(): HostileCase[] {
  const six = [['0', arangeBytes(6)]] as const;
  const geo = (name: string, size: readonly number[], stride: readonly number[], offset = 0, numel = 6): HostileCase =>
    tensors(73, name, [['t', floatTensor('0', numel, size, stride, offset)]], six, { code: 'TENSOR_GEOMETRY' });
  const big = (
    name: string,
    size: readonly (number | bigint)[],
    stride: readonly (number | bigint)[],
    offset: number | bigint,
    code: string | undefined,
    storage: Uint8Array,
    vector: number,
  ): HostileCase => {
    const p = new PickleBuilder().proto(2).emptyDict().str('t').global('torch._utils', '_rebuild_tensor_v2').mark();
    p.persistentId({ storage: 'FloatStorage', key: '0', location: 'cpu', numel: storage.length / 4 }).int(offset);
    p.mark();
    for (const s of size) p.int(s);
    p.tuple().mark();
    for (const s of stride) p.int(s);
    p.tuple().newFalse().orderedDict().tuple().reduce().setitem().stop();
    const bytes = checkpointZip(p.bytes(), [['0', storage]]).bytes;
    return code === undefined
      ? { vector, name, bytes, accepted: 'an empty tensor: nothing to read or allocate' }
      : { vector, name, bytes, code };
  };
  const arange100 = arangeBytes(100);
  const views = tensors(
    77,
    'x, even, odd share arange(100)',
    [
      ['x', floatTensor('0', 100, [100], [1])],
      ['even', floatTensor('0', 100, [50], [2])],
      ['odd', floatTensor('0', 100, [50], [2], 1)],
    ],
    [['0', arange100]],
    {
      accepted: 'views of one storage: values gathered by stride, the record read once',
    },
  );
  return [
    geo('size -1', [-1], [1]),
    geo('stride -1', [6], [-1]),
    geo('2 sizes, 1 stride', [2, 3], [1]),
    geo('offset -1', [6], [1], -1),
    geo('rank 100', new Array<number>(100).fill(1), new Array<number>(100).fill(1)),
    big('size (2^31, 2^31, 2^31)', [2 ** 31, 2 ** 31, 2 ** 31], [1, 1, 1], 0, 'TENSOR_GEOMETRY', arangeBytes(6), 73),
    big('stride 2^62', [2, 2], [2n ** 62n, 1], 0, 'TENSOR_GEOMETRY', arangeBytes(6), 73),
    tensors(
      74,
      'size (2,2) stride (2,1) offset 1 over 4 floats',
      [['t', floatTensor('0', 4, [2, 2], [2, 1], 1)]],
      [['0', arangeBytes(4)]],
      { code: 'TENSOR_OUT_OF_BOUNDS' },
    ),
    big('size (0, 2^62) offset 2^40', [0, 2n ** 62n], [1, 1], 2n ** 40n, 'TENSOR_GEOMETRY', new Uint8Array(0), 75),
    big('size (0, 5)', [0, 5], [5, 1], 0, undefined, new Uint8Array(0), 75),
    tensors(
      76,
      'size (65536, 65536) stride (0, 0) over 1 float',
      [['t', floatTensor('0', 1, [65536, 65536], [0, 0])]],
      [['0', arangeBytes(1)]],
      { code: 'TENSOR_TOO_LARGE', stage: 'load' },
    ),
    views,
  ];
}

/** Little-endian bytes of 16-bit words. */
const u16s = (words: readonly number[]) => new Uint8Array(Uint16Array.from(words).buffer);

/** Vector 78: dtype coverage without silent narrowing. */
export function dtypeVectors(): HostileCase[] {
  const one = (
    name: string,
    storage: string,
    numel: number,
    bytes: Uint8Array,
    rest: Partial<HostileCase>,
  ): HostileCase =>
    tensors(
      78,
      name,
      [['t', { storage, key: '0', location: 'cpu', numel, offset: 0, size: [numel], stride: [1] }]],
      [['0', bytes]],
      rest,
    );
  const i64 = (values: readonly bigint[]) => new Uint8Array(BigInt64Array.from(values).buffer);
  const v3 = new PickleBuilder().proto(2).emptyDict().str('t').global('torch._utils', '_rebuild_tensor_v3').mark();
  v3.persistentId({ storage: 'UntypedStorage', key: '0', location: 'cpu', numel: 16 })
    .int(0)
    .intTuple([2])
    .intTuple([1])
    .newFalse()
    .orderedDict()
    .global('torch', 'uint64')
    .tuple()
    .reduce()
    .setitem()
    .stop();
  const wrapper = new PickleBuilder()
    .proto(2)
    .global('torch._utils', '_rebuild_wrapper_subclass')
    .emptyTuple()
    .reduce()
    .stop()
    .bytes();
  return [
    one('float64 0.1, strict', 'DoubleStorage', 1, new Uint8Array(Float64Array.of(0.1).buffer), {
      code: 'TENSOR_LOSSY_DTYPE',
      stage: 'load',
      options: { dtype: 'strict' },
    }),
    one('int64 ±2^40, strict', 'LongStorage', 2, i64([2n ** 40n, -(2n ** 40n)]), {
      code: 'TENSOR_LOSSY_DTYPE',
      stage: 'load',
      options: { dtype: 'strict' },
    }),
    {
      vector: 78,
      name: 'uint64 2^40 (v3), strict',
      bytes: checkpointZip(v3.bytes(), [['0', new Uint8Array(BigUint64Array.of(2n ** 40n, 1n).buffer)]]).bytes,
      code: 'TENSOR_LOSSY_DTYPE',
      stage: 'load',
      options: { dtype: 'strict' },
    },
    one('float64 0.1, convert', 'DoubleStorage', 1, new Uint8Array(Float64Array.of(0.1).buffer), {
      accepted: 'converted to float32 and the rounding reported',
    }),
    one('float16', 'HalfStorage', 4, u16s([0x3c00, 0x3800, 0xc000, 0x7bff]), {
      accepted: 'float16 widens to float32 exactly',
    }),
    one('bfloat16', 'BFloat16Storage', 2, u16s([0x3f80, 0xc020]), { accepted: 'bfloat16 widens to float32 exactly' }),
    one('int8', 'CharStorage', 2, Uint8Array.of(0x80, 0x7f), { accepted: 'int8 widens to int32 exactly' }),
    {
      vector: 78,
      name: '_rebuild_wrapper_subclass',
      bytes: checkpointZip(wrapper, []).bytes,
      code: 'TENSOR_UNSUPPORTED',
    },
  ];
}

/** Vectors 79–80: byte order and version records. */
export function recordVectors(): HostileCase[] {
  const { pkl, storages } = validCheckpoint();
  const records = (
    extra: readonly (readonly [string, Uint8Array | string])[],
    version: Uint8Array | string | undefined = '3\n',
  ) =>
    torchZip([
      ['data.pkl', pkl],
      ...extra,
      ...storages.map(([k, b]) => [`data/${k}`, b] as const),
      ...(version === undefined ? [] : [['version', version] as const]),
    ]).bytes;
  const swapped = storages.map(([k, b]) => {
    const s = b.slice();
    for (let i = 0; i < s.length; i += 4) s.subarray(i, i + 4).reverse();
    return [`data/${k}`, s] as const;
  });
  const big = torchZip([['data.pkl', pkl], ['byteorder', 'big'], ...swapped, ['version', '3\n']]).bytes;
  const tenMb = new Uint8Array(10 * 2 ** 20).fill(0x33);
  return [
    { vector: 79, name: 'byteorder big', bytes: big, accepted: 'big-endian storages are swapped to little-endian' },
    {
      vector: 79,
      name: 'no byteorder record',
      bytes: validCheckpoint().zip.bytes,
      accepted: 'no record means little-endian (torch >= 2.1)',
    },
    ...['BIG', 'middle'].map(
      (b): HostileCase => ({
        vector: 79,
        name: `byteorder ${b}`,
        bytes: records([['byteorder', b]]),
        code: 'ARCHIVE_BAD_BYTEORDER',
      }),
    ),
    {
      vector: 79,
      name: 'byteorder of 1 MB',
      bytes: records([['byteorder', new Uint8Array(2 ** 20).fill(0x6c)]]),
      code: 'ARCHIVE_BAD_BYTEORDER',
    },
    ...['abc', '', '99999999999999999999', '-1'].map(
      (v): HostileCase => ({
        vector: 80,
        name: `version ${JSON.stringify(v)}`,
        bytes: records([], v),
        code: 'ARCHIVE_BAD_VERSION',
      }),
    ),
    { vector: 80, name: 'version of 10 MB', bytes: records([], tenMb), code: 'ARCHIVE_BAD_VERSION' },
    {
      vector: 80,
      name: '.data/version 99 beside version 3',
      bytes: records([['.data/version', '99\n']]),
      code: 'ARCHIVE_BAD_VERSION',
    },
    {
      vector: 80,
      name: '.data/version 3 beside version abc',
      bytes: records([['.data/version', '3\n']], 'abc'),
      accepted: '.data/version takes precedence, as in torch',
    },
  ];
}

/**
 * Vectors 81–83: a misaligned record, device locations and meta tensors, parameters and
 * `_rebuild_from_type_v2`.
 */
export function layoutVectors(): HostileCase[] {
  const { pkl, storages } = validCheckpoint();
  let misaligned: Uint8Array | undefined;
  for (let pad = 0; misaligned === undefined; pad++) {
    const zip = buildZip([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/pad', data: new Uint8Array(pad) },
      ...storages.map(([k, b]) => ({ name: `archive/data/${k}`, data: b })),
      { name: 'archive/version', data: '3\n' },
    ]);
    if (zip.entries[2]!.dataOffset % 2 === 1) misaligned = zip.bytes;
  }
  const located = (location: string) =>
    tensors(
      82,
      `location ${location}`,
      [['t', { ...floatTensor('0', 6, [6], [1]), location }]],
      [['0', arangeBytes(6)]],
      { accepted: 'the saved location is a tag; data loads where mapLocation says' },
    );
  const meta = new PickleBuilder()
    .proto(2)
    .emptyDict()
    .str('m')
    .global('torch._utils', '_rebuild_meta_tensor_no_storage')
    .mark()
    .global('torch', 'float16')
    .intTuple([2, 3])
    .intTuple([3, 1])
    .newFalse()
    .tuple()
    .reduce()
    .setitem()
    .stop();
  const fromType = (func: [string, string], type: [string, string], state: (p: PickleBuilder) => void) => {
    const p = new PickleBuilder()
      .proto(2)
      .emptyDict()
      .str('p')
      .global('torch._tensor', '_rebuild_from_type_v2')
      .mark()
      .global(...func)
      .global(...type);
    p.mark()
      .persistentId({ storage: 'FloatStorage', key: '0', location: 'cpu', numel: 6 })
      .int(0)
      .intTuple([6])
      .intTuple([1])
      .newFalse()
      .orderedDict()
      .tuple();
    state(p);
    p.tuple().reduce().setitem().stop();
    return checkpointZip(p.bytes(), [['0', arangeBytes(6)]]).bytes;
  };
  const parameter = new PickleBuilder()
    .proto(2)
    .emptyDict()
    .str('p')
    .global('torch._utils', '_rebuild_parameter')
    .mark()
    .tensorV2(floatTensor('0', 6, [6], [1]))
    .newTrue()
    .orderedDict()
    .tuple()
    .reduce()
    .setitem()
    .stop();
  const rebuildV2: [string, string] = ['torch._utils', '_rebuild_tensor_v2'];
  const paramClass: [string, string] = ['torch.nn.parameter', 'Parameter'];
  const od: [string, string] = ['collections', 'OrderedDict'];
  return [
    {
      vector: 81,
      name: 'data/0 at an odd offset',
      bytes: misaligned,
      accepted: 'an unaligned record is copied, not viewed',
    },
    located('cuda:0'),
    located('mps'),
    located('meta'),
    {
      vector: 82,
      name: '_rebuild_meta_tensor_no_storage',
      bytes: checkpointZip(meta.bytes(), []).bytes,
      accepted: 'a meta tensor has a shape and no data',
    },
    {
      vector: 83,
      name: '_rebuild_parameter',
      bytes: checkpointZip(parameter.bytes(), [['0', arangeBytes(6)]]).bytes,
      accepted: 'a Parameter with requires_grad',
    },
    {
      vector: 83,
      name: '_rebuild_from_type_v2(_rebuild_tensor_v2, Parameter)',
      bytes: fromType(rebuildV2, paramClass, (p) => p.emptyDict()),
      accepted: 'the Parameter subclass path torch writes',
    },
    {
      vector: 83,
      name: '_rebuild_from_type_v2 with func OrderedDict',
      bytes: fromType(od, paramClass, (p) => p.emptyDict()),
      code: 'PICKLE_TYPE',
    },
    {
      vector: 83,
      name: '_rebuild_from_type_v2 with type OrderedDict',
      bytes: fromType(rebuildV2, od, (p) => p.emptyDict()),
      code: 'PICKLE_TYPE',
    },
    {
      vector: 83,
      name: '_rebuild_from_type_v2 with state {"__proto__": 1}',
      bytes: fromType(rebuildV2, paramClass, (p) => p.emptyDict().str('__proto__').int(1).setitem()),
      accepted: 'the state is kept as inert data',
    },
  ];
}

/** All cases of vectors 68–83. */
export function tensorVectors(): HostileCase[] {
  return [...storageVectors(), ...geometryVectors(), ...dtypeVectors(), ...recordVectors(), ...layoutVectors()];
}

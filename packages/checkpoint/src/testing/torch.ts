/**
 * Test support (not built): runs real PyTorch 1.13 (`/usr/bin/python3`) to produce reference
 * files, and builds the JavaScript values equivalent to what those scripts save.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { device, type TorchDType } from '@x/device';
import { DType, markFloat, OrderedDict, TorchSize, tuple, type StorageRef, type TensorRef } from '../pickle/values.js';

/** The interpreter with torch 1.13 (not the `python3` on PATH). */
export const PYTHON = '/usr/bin/python3';

/** Whether `/usr/bin/python3` can import torch. */
export const torchAvailable: boolean = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** Runs a Python script with `args`; returns stdout, throws with stderr when it fails. */
export function runPython(script: string, args: readonly string[] = []): string {
  return runWith(PYTHON, script, args);
}

function runWith(python: string, script: string, args: readonly string[]): string {
  const r = spawnSync(python, ['-', ...args], { input: script, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${python}, ${r.status}): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/**
 * The interpreter with torch 2.13: `X_TORCH2_PYTHON`, else `<repo>/.venv-torch2/bin/python` (where
 * CI's .ci/setup/20-python-torch2.sh creates it).
 */
export const PYTHON2 = process.env.X_TORCH2_PYTHON ?? join(import.meta.dirname, '../../../../.venv-torch2/bin/python');

/** Whether {@link PYTHON2} can import torch 2.x. */
export const torch2Available: boolean =
  spawnSync(PYTHON2, ['-c', 'import sys, torch; sys.exit(int(torch.__version__.split(".")[0]) < 2)'], {
    stdio: 'ignore',
  }).status === 0;

/**
 * Whether tests needing torch 2.13 run: they do when it is installed, and under CI (`CI` set) they
 * run and fail when it is missing rather than being skipped.
 */
export const runTorch2Tests: boolean = torch2Available || process.env.CI !== undefined;

/** Runs a Python script with torch 2.13 ({@link PYTHON2}); returns stdout, throws with stderr when it fails. */
export function runPython2(script: string, args: readonly string[] = []): string {
  return runWith(PYTHON2, script, args);
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'x-ckpt-'));
}

/**
 * Python that saves every case of {@link buildCases} to `<dir>/<name>.pt` with `torch.save` (so
 * the prefix is `<name>`) and its `data.pkl` to `<dir>/<name>.pkl`; `golden` goes through a
 * `BytesIO` (prefix `archive`) as in {@link GOLDEN_HEX}.
 */
const SAVE_CASES = String.raw`
import collections, io, os, sys, zipfile, torch
out = sys.argv[1]
def save(name, obj):
    path = os.path.join(out, name + '.pt')
    torch.save(obj, path)
    with zipfile.ZipFile(path) as z:
        open(os.path.join(out, name + '.pkl'), 'wb').write(z.read(name + '/data.pkl'))

buf = io.BytesIO()
torch.save(torch.arange(6.).reshape(2, 3), buf)
open(os.path.join(out, 'golden.pt'), 'wb').write(buf.getvalue())
with zipfile.ZipFile(buf) as z:
    open(os.path.join(out, 'golden.pkl'), 'wb').write(z.read('archive/data.pkl'))

lin = torch.nn.Linear(2, 3)
with torch.no_grad():
    lin.weight.copy_(torch.arange(6.).reshape(3, 2))
    lin.bias.copy_(torch.arange(3.))
save('linear', lin.state_dict())

seq = torch.nn.Sequential(*[torch.nn.Linear(1, 1, bias=False) for _ in range(12)])
with torch.no_grad():
    for i, m in enumerate(seq):
        m.weight.fill_(i)
save('seq12', seq.state_dict())

x = torch.arange(10, dtype=torch.int64)
save('views', [x, x[2:5], x.view(2, 5).t(), x[::3]])

save('params', {'p': torch.nn.Parameter(torch.arange(4.)),
                'q': torch.nn.Parameter(torch.arange(2.), requires_grad=False),
                't': torch.ones(2, requires_grad=True)})

s = 'h\u00e9llo \u2603 \U0001d11e'
save('nested', {
    'ints': [0, 255, 256, 65535, 65536, -1, -3, 2**31 - 1, -2**31, 2**31, 2**40, -2**63, 2**64, 2**70,
             0.5, 1.0, -0.0, 1e300, float('inf')],
    'strs': [s, s, '', 'a'],
    'bytes': [b'\x00\xff', b'', b'z', b'z'],
    'misc': [None, True, False, (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
    5: {'x': 1.5, 'y': {}},
    'many': ['k%d' % i for i in range(300)],
    'long': torch.arange(5),
    'half': torch.arange(4).half(),
    'objs': [torch.float16, torch.Size([2, 3]), torch.device('cpu'), torch.device('cuda', 1), torch.float16, torch.int64],
})

save('empty', torch.empty(0))

save('batches', {'d1000': {i: i for i in range(1000)}, 'd1001': {i: i for i in range(1001)},
                 'l1000': list(range(1000)), 'l1001': list(range(1001)), 'l1': [7],
                 'od1000': collections.OrderedDict(('a%d' % i, i) for i in range(1000)),
                 'od1001': collections.OrderedDict(('b%d' % i, i) for i in range(1001)),
                 'od1': collections.OrderedDict(a=1), 'od0': collections.OrderedDict()})
`;

/** Saves every case with real torch into a new temporary directory and returns it. */
export function saveTorchCases(): string {
  const dir = tempDir();
  runPython(SAVE_CASES, [dir]);
  return dir;
}

/** Names of the cases {@link saveTorchCases} writes (each also a key of {@link buildCases}). */
export const CASE_NAMES = ['golden', 'linear', 'seq12', 'views', 'params', 'nested', 'empty', 'batches'] as const;

/** Reads `<dir>/<file>`. */
export function readCase(dir: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, file)));
}

/** A JavaScript value and the bytes of each storage it references. */
export interface Case {
  readonly value: unknown;
  readonly bytes: Map<StorageRef, Uint8Array>;
}

/** Builds storages and tensors over them, remembering each storage's bytes. */
export class Storages {
  readonly bytes = new Map<StorageRef, Uint8Array>();

  /** A storage holding `data` (little-endian typed array of `dtype`). */
  storage(dtype: TorchDType, data: ArrayBufferView & { length: number }, location = 'cpu'): StorageRef {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const s: StorageRef = {
      key: String(this.bytes.size),
      dtype,
      location,
      numel: data.length,
      byteLength: bytes.length,
    };
    this.bytes.set(s, bytes);
    return s;
  }

  /** A view of `storage`. */
  tensor(
    storage: StorageRef,
    shape: number[],
    stride: number[],
    offset = 0,
    extra: Partial<Pick<TensorRef, 'requiresGrad' | 'parameter'>> = {},
  ): TensorRef {
    return {
      storage,
      offset,
      shape,
      stride,
      dtype: storage.dtype,
      requiresGrad: extra.requiresGrad ?? false,
      parameter: extra.parameter ?? false,
    };
  }
}

/** `torch.arange(n, dtype=float32)` as bytes arithmetic: 0, 1, …, n-1. */
export function arangeF32(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => i);
}

/** The JavaScript value of each case of the Python script above. */
export function buildCases(): Record<string, Case> {
  const cases: Record<string, Case> = {};

  {
    const st = new Storages();
    cases.golden = { value: st.tensor(st.storage('float32', arangeF32(6)), [2, 3], [3, 1]), bytes: st.bytes };
  }
  {
    const st = new Storages();
    const sd = new OrderedDict<string, unknown>([
      ['weight', st.tensor(st.storage('float32', arangeF32(6)), [3, 2], [2, 1])],
      ['bias', st.tensor(st.storage('float32', arangeF32(3)), [3], [1])],
    ]);
    sd.metadata = new OrderedDict([['', new Map<string, unknown>([['version', 1]])]]);
    cases.linear = { value: sd, bytes: st.bytes };
  }
  {
    const st = new Storages();
    const sd = new OrderedDict<string, unknown>();
    sd.metadata = new OrderedDict([['', new Map<string, unknown>([['version', 1]])]]);
    for (let i = 0; i < 12; i++) {
      sd.set(`${i}.weight`, st.tensor(st.storage('float32', Float32Array.of(i)), [1, 1], [1, 1]));
      sd.metadata.set(String(i), new Map([['version', 1]]));
    }
    cases.seq12 = { value: sd, bytes: st.bytes };
  }
  {
    const st = new Storages();
    const x = st.storage(
      'int64',
      BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i)),
    );
    cases.views = {
      value: [st.tensor(x, [10], [1]), st.tensor(x, [3], [1], 2), st.tensor(x, [5, 2], [1, 5]), st.tensor(x, [4], [3])],
      bytes: st.bytes,
    };
  }
  {
    const st = new Storages();
    cases.params = {
      value: new Map<string, unknown>([
        ['p', st.tensor(st.storage('float32', arangeF32(4)), [4], [1], 0, { parameter: true, requiresGrad: true })],
        ['q', st.tensor(st.storage('float32', arangeF32(2)), [2], [1], 0, { parameter: true, requiresGrad: false })],
        ['t', st.tensor(st.storage('float32', Float32Array.of(1, 1)), [2], [1], 0, { requiresGrad: true })],
      ]),
      bytes: st.bytes,
    };
  }
  {
    const st = new Storages();
    const s = 'h\u00e9llo \u2603 \u{1d11e}';
    const ints: unknown[] = [
      0,
      255,
      256,
      65535,
      65536,
      -1,
      -3,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      2 ** 40,
      -(2n ** 63n),
      2n ** 64n,
      2n ** 70n,
      0.5,
      1,
      -0,
      1e300,
      Infinity,
    ];
    markFloat(ints, 15);
    const z = Uint8Array.of(0x7a);
    // float16 bit patterns of 0, 1, 2, 3: sign 0, exponent 15 + e, mantissa m (1.0 = 0x3c00, 2.0 = 0x4000, 3.0 = 1.5 * 2 = 0x4200)
    const half = Uint16Array.of(0x0000, (15 << 10) | 0, (16 << 10) | 0, (16 << 10) | 0x200);
    const size = new TorchSize();
    size.push(2, 3);
    const f16 = new DType('float16');
    cases.nested = {
      value: new Map<unknown, unknown>([
        ['ints', ints],
        ['strs', [s, s, '', 'a']],
        ['bytes', [Uint8Array.of(0, 0xff), new Uint8Array(0), z, Uint8Array.of(0x7a)]],
        ['misc', [null, true, false, tuple(), tuple(1), tuple(1, 2), tuple(1, 2, 3), tuple(1, 2, 3, 4)]],
        [
          5,
          new Map<string, unknown>([
            ['x', 1.5],
            ['y', new Map()],
          ]),
        ],
        ['many', Array.from({ length: 300 }, (_, i) => `k${i}`)],
        [
          'long',
          st.tensor(
            st.storage(
              'int64',
              BigInt64Array.from({ length: 5 }, (_, i) => BigInt(i)),
            ),
            [5],
            [1],
          ),
        ],
        ['half', st.tensor(st.storage('float16', half), [4], [1])],
        ['objs', [f16, size, device('cpu'), device('cuda', 1), new DType('float16'), new DType('int64')]],
      ]),
      bytes: st.bytes,
    };
  }
  {
    const st = new Storages();
    cases.empty = { value: st.tensor(st.storage('float32', new Float32Array(0)), [0], [1]), bytes: st.bytes };
  }
  {
    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    // distinct key texts: equal strings built separately are distinct objects in Python, one memo entry here
    const od = (n: number, p: string): OrderedDict => new OrderedDict(range(n).map((i) => [`${p}${i}`, i]));
    cases.batches = {
      value: new Map<string, unknown>([
        ['d1000', new Map(range(1000).map((i) => [i, i]))],
        ['d1001', new Map(range(1001).map((i) => [i, i]))],
        ['l1000', range(1000)],
        ['l1001', range(1001)],
        ['l1', [7]],
        ['od1000', od(1000, 'a')],
        ['od1001', od(1001, 'b')],
        ['od1', new OrderedDict([['a', 1]])],
        ['od0', new OrderedDict()],
      ]),
      bytes: new Map(),
    };
  }
  return cases;
}

/**
 * The 747 bytes torch 1.13 writes for
 * `torch.save(torch.arange(6.).reshape(2, 3), io.BytesIO())` (SHA-256 51ef9ed6…6fcedc).
 */
export const GOLDEN_HEX: readonly string[] = [
  '50 4b 03 04 00 00 08 08 00 00 00 00 00 00 00 00',
  '00 00 00 00 00 00 00 00 00 00 10 00 12 00 61 72',
  '63 68 69 76 65 2f 64 61 74 61 2e 70 6b 6c 46 42',
  '0e 00 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a',
  '80 02 63 74 6f 72 63 68 2e 5f 75 74 69 6c 73 0a',
  '5f 72 65 62 75 69 6c 64 5f 74 65 6e 73 6f 72 5f',
  '76 32 0a 71 00 28 28 58 07 00 00 00 73 74 6f 72',
  '61 67 65 71 01 63 74 6f 72 63 68 0a 46 6c 6f 61',
  '74 53 74 6f 72 61 67 65 0a 71 02 58 01 00 00 00',
  '30 71 03 58 03 00 00 00 63 70 75 71 04 4b 06 74',
  '71 05 51 4b 00 4b 02 4b 03 86 71 06 4b 03 4b 01',
  '86 71 07 89 63 63 6f 6c 6c 65 63 74 69 6f 6e 73',
  '0a 4f 72 64 65 72 65 64 44 69 63 74 0a 71 08 29',
  '52 71 09 74 71 0a 52 71 0b 2e 50 4b 07 08 c7 73',
  '53 27 9a 00 00 00 9a 00 00 00 50 4b 03 04 00 00',
  '08 08 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
  '00 00 00 00 0e 00 2a 00 61 72 63 68 69 76 65 2f',
  '64 61 74 61 2f 30 46 42 26 00 5a 5a 5a 5a 5a 5a',
  '5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a',
  '5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a',
  '00 00 00 00 00 00 80 3f 00 00 00 40 00 00 40 40',
  '00 00 80 40 00 00 a0 40 50 4b 07 08 17 90 e7 91',
  '18 00 00 00 18 00 00 00 50 4b 03 04 00 00 08 08',
  '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
  '00 00 0f 00 2b 00 61 72 63 68 69 76 65 2f 76 65',
  '72 73 69 6f 6e 46 42 27 00 5a 5a 5a 5a 5a 5a 5a',
  '5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a',
  '5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a 5a',
  '33 0a 50 4b 07 08 d1 9e 67 55 02 00 00 00 02 00',
  '00 00 50 4b 01 02 00 00 00 00 08 08 00 00 00 00',
  '00 00 c7 73 53 27 9a 00 00 00 9a 00 00 00 10 00',
  '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
  '61 72 63 68 69 76 65 2f 64 61 74 61 2e 70 6b 6c',
  '50 4b 01 02 00 00 00 00 08 08 00 00 00 00 00 00',
  '17 90 e7 91 18 00 00 00 18 00 00 00 0e 00 00 00',
  '00 00 00 00 00 00 00 00 00 00 ea 00 00 00 61 72',
  '63 68 69 76 65 2f 64 61 74 61 2f 30 50 4b 01 02',
  '00 00 00 00 08 08 00 00 00 00 00 00 d1 9e 67 55',
  '02 00 00 00 02 00 00 00 0f 00 00 00 00 00 00 00',
  '00 00 00 00 00 00 68 01 00 00 61 72 63 68 69 76',
  '65 2f 76 65 72 73 69 6f 6e 50 4b 06 06 2c 00 00',
  '00 00 00 00 00 1e 03 2d 00 00 00 00 00 00 00 00',
  '00 03 00 00 00 00 00 00 00 03 00 00 00 00 00 00',
  '00 b7 00 00 00 00 00 00 00 d2 01 00 00 00 00 00',
  '00 50 4b 06 07 00 00 00 00 89 02 00 00 00 00 00',
  '00 01 00 00 00 50 4b 05 06 00 00 00 00 03 00 03',
  '00 b7 00 00 00 d2 01 00 00 00 00',
];

/** {@link GOLDEN_HEX} as bytes. */
export function goldenBytes(): Uint8Array {
  return Uint8Array.from(
    GOLDEN_HEX.join(' ')
      .split(' ')
      .map((h) => parseInt(h, 16)),
  );
}

/** Asserts two byte arrays are identical, naming the first differing offset when they are not. */
export function sameBytes(ours: Uint8Array, theirs: Uint8Array): string {
  if (Buffer.compare(Buffer.from(ours), Buffer.from(theirs)) === 0) return 'identical';
  let i = 0;
  while (i < ours.length && i < theirs.length && ours[i] === theirs[i]) i++;
  const hex = (b: Uint8Array): string => Buffer.from(b.subarray(Math.max(0, i - 8), i + 24)).toString('hex');
  return `differ at byte ${i} (lengths ${ours.length} / ${theirs.length}): ours ${hex(ours)} torch ${hex(theirs)}`;
}

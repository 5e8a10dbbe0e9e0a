/**
 * Real torch 1.13 (`/usr/bin/python3`) reads what `save` / `saveSafetensors` write and every value
 * comes back as saved. In CI these tests never skip: a missing torch fails them.
 *
 * `torch.load(path, weights_only=True)` is used wherever 1.13 allows it. Its weights_only
 * unpickler in 1.13 has no BINFLOAT, so files holding Python floats (the training checkpoint) are
 * loaded with the normal unpickler.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { createDeviceRuntime, float32ToBfloat16, float32ToHalf, type TorchDType } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from './cli/main.js';
import { load } from './load.js';
import { readSafetensors } from './formats/safetensors/header.js';
import { save } from './node/save.js';
import { saveSafetensors } from './formats/safetensors/save.js';
import { runPython, Storages, tempDir, torchAvailable } from './testing/torch.js';
import { markFloat, OrderedDict, tuple, type StorageRef } from './pickle/values.js';
import { memorySink } from './zip/writer.js';

const needTorch = torchAvailable || process.env.CI !== undefined;
const SPEC_DIR = join(import.meta.dirname, '../../../tools/fixtures');

beforeAll(async () => {
  if (!tf.engine().registryFactory['cpu-b']) {
    tf.registerBackend('cpu-b', () => new MathBackendCPU(), 0);
    tf.copyRegisteredKernels('cpu', 'cpu-b');
  }
  await tf.setBackend('cpu');
});

/**
 * `torch.arange(6).reshape(2, 3)` in each dtype, as bytes built here: signed ints hold arange - 3,
 * bool holds arange % 2, complex holds arange - i·arange. The Python side rebuilds each with torch.
 */
function dtypeCases(st: Storages): Map<string, unknown> {
  const a = Float32Array.from({ length: 6 }, (_, i) => i);
  const c = (n: number): number[] => Array.from({ length: 2 * n }, (_, k) => (k % 2 === 0 ? k / 2 : -(k - 1) / 2));
  const data: [TorchDType, ArrayBufferView & { length: number }][] = [
    ['float64', Float64Array.from(a)],
    ['float32', a],
    ['float16', float32ToHalf(a)],
    ['bfloat16', float32ToBfloat16(a)],
    ['complex64', Float32Array.from(c(6))],
    ['complex128', Float64Array.from(c(6))],
    ['int64', BigInt64Array.from(a, (v) => BigInt(v - 3))],
    ['int32', Int32Array.from(a, (v) => v - 3)],
    ['int16', Int16Array.from(a, (v) => v - 3)],
    ['int8', Int8Array.from(a, (v) => v - 3)],
    ['uint8', Uint8Array.from(a)],
    ['bool', Uint8Array.from(a, (v) => v % 2)],
  ];
  const sd = new OrderedDict<string, unknown>();
  for (const [dtype, values] of data) {
    const s = st.storage(dtype, values);
    // complex storages count complex elements, not components
    const fixed: StorageRef = dtype.startsWith('complex') ? { ...s, numel: 6 } : s;
    st.bytes.set(fixed, st.bytes.get(s)!);
    sd.set(dtype, st.tensor(fixed, [2, 3], [3, 1]));
  }
  sd.metadata = new OrderedDict([['', new Map([['version', 1]])]]);
  return sd;
}

const PY_DTYPES = String.raw`
def expected(name):
    dt = getattr(torch, name)
    a = torch.arange(6)
    if name == 'bool':
        return (a % 2).bool().reshape(2, 3)
    if name.startswith('complex'):
        return torch.complex(a.double(), -a.double()).to(dt).reshape(2, 3)
    if name.startswith('int'):
        return (a - 3).to(dt).reshape(2, 3)
    return a.to(dt).reshape(2, 3)
NAMES = ['float64', 'float32', 'float16', 'bfloat16', 'complex64', 'complex128', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']
`;

describe.skipIf(!needTorch)('torch.load reads what save writes', () => {
  it('a state dict of every dtype, weights_only=True: dtype, shape, values, _metadata', async () => {
    const st = new Storages();
    const path = join(tempDir(), 'dtypes.pt');
    await save(dtypeCases(st), path, { storageBytes: (s) => st.bytes.get(s)! });
    const out = runPython(
      `import sys, collections, torch\n${PY_DTYPES}
sd = torch.load(sys.argv[1], weights_only=True)
assert type(sd) is collections.OrderedDict and list(sd) == NAMES, list(sd)
assert sd._metadata == {'': {'version': 1}}, sd._metadata
for n in NAMES:
    t, e = sd[n], expected(n)
    assert t.dtype == e.dtype and t.shape == e.shape and torch.equal(t, e), (n, t, e)
print('ok', len(sd))`,
      [path],
    );
    expect(out.trim()).toBe('ok 12');
  });

  it('views share one storage (same data_ptr), with their offsets and strides', async () => {
    const st = new Storages();
    const x = st.storage(
      'int64',
      BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i)),
    );
    const base = st.tensor(x, [10], [1]);
    const value = [base, st.tensor(x, [3], [1], 2), st.tensor(x, [5, 2], [1, 5]), st.tensor(x, [4], [3]), base];
    const path = join(tempDir(), 'views.pt');
    await save(value, path, { storageBytes: (s) => st.bytes.get(s)! });
    const out = runPython(
      `import sys, torch
l = torch.load(sys.argv[1], weights_only=True)
x = torch.arange(10)
exp = [x, x[2:5], x.view(2, 5).t(), x[::3], x]
assert len(l) == 5 and l[4] is l[0]
ptr = l[0].storage().data_ptr()
for t, e in zip(l, exp):
    assert t.storage().data_ptr() == ptr and t.storage().size() == 10
    assert t.storage_offset() == e.storage_offset() and t.stride() == e.stride() and torch.equal(t, e), (t, e)
print('ok')`,
      [path],
    );
    expect(out.trim()).toBe('ok');
  });

  it('a nested training checkpoint: parameters, requires_grad, ints beyond 64 bits, floats, tuples, bytes, TF.js tensors', async () => {
    const st = new Storages();
    const w = st.tensor(st.storage('float32', Float32Array.of(1, 2, 3, 4)), [2, 2], [2, 1], 0, {
      parameter: true,
      requiresGrad: true,
    });
    const frozen = st.tensor(st.storage('float32', Float32Array.of(5)), [1], [1], 0, {
      parameter: true,
      requiresGrad: false,
    });
    const model = new OrderedDict<string, unknown>([
      ['w', w],
      ['frozen', frozen],
      ['tf', tf.tensor1d([7, 8], 'int32')],
    ]);
    model.metadata = new OrderedDict([['', new Map([['version', 1]])]]);
    const group = new Map<string, unknown>([
      ['lr', 1],
      ['betas', tuple(0.9, 0.999)],
      ['params', [0, 1]],
    ]);
    markFloat(group, 'lr');
    const ckpt = new Map<unknown, unknown>([
      ['model', model],
      [
        'optimizer',
        new Map<string, unknown>([
          ['param_groups', [group]],
          ['state', new Map([[0, new Map([['step', tf.scalar(2)]])]])],
        ]),
      ],
      ['epoch', 3],
      ['big', 2n ** 70n],
      ['neg', -(2n ** 63n)],
      ['name', 'h\u00e9llo \u2603'],
      ['blob', Uint8Array.of(0, 255, 10)],
      ['flags', [true, false, null]],
      [tuple(1, 'a'), 'tuple key'],
    ]);
    const path = join(tempDir(), 'ckpt.pt');
    await save(ckpt, path, { storageBytes: (s) => st.bytes.get(s)! });
    const out = runPython(
      `import sys, collections, torch
c = torch.load(sys.argv[1])  # floats inside: 1.13's weights_only unpickler has no BINFLOAT
m = c['model']
assert isinstance(m['w'], torch.nn.Parameter) and m['w'].requires_grad and torch.equal(m['w'].data, torch.tensor([[1., 2], [3, 4]]))
assert isinstance(m['frozen'], torch.nn.Parameter) and not m['frozen'].requires_grad and torch.equal(m['frozen'].data, torch.tensor([5.]))
assert type(m['tf']) is torch.Tensor and m['tf'].dtype == torch.int32 and torch.equal(m['tf'], torch.tensor([7, 8], dtype=torch.int32))
assert m._metadata == {'': {'version': 1}}
g = c['optimizer']['param_groups'][0]
assert g == {'lr': 1.0, 'betas': (0.9, 0.999), 'params': [0, 1]} and type(g['lr']) is float and type(g['betas']) is tuple
step = c['optimizer']['state'][0]['step']
assert step.dtype == torch.float32 and step.shape == () and step.item() == 2.0
rest = {k: v for k, v in c.items() if k not in ('model', 'optimizer')}
assert rest == {'epoch': 3, 'big': 2**70, 'neg': -2**63, 'name': 'h\\u00e9llo \\u2603', 'blob': b'\\x00\\xff\\n',
                'flags': [True, False, None], (1, 'a'): 'tuple key'}, rest
assert list(c) == ['model', 'optimizer', 'epoch', 'big', 'neg', 'name', 'blob', 'flags', (1, 'a')]
print('ok')`,
      [path],
    );
    expect(out.trim()).toBe('ok');
  });

  it('keepLocations: the saved locations are the devices; map_location="cpu" loads the values', async () => {
    const rt = await createDeviceRuntime({ bindings: { cuda: 'cpu-b' }, cuda: false });
    const value = new Map([
      ['g', rt.place(Float32Array.of(1, 2), [2], 'float32', 'cuda')],
      ['c', rt.place(Int32Array.of(3), [1], 'int32', 'cpu')],
    ]);
    const path = join(tempDir(), 'gpu.pt');
    await save(value, path, { keepLocations: true, runtime: rt });
    const out = runPython(
      `import sys, torch
locs = []
torch.load(sys.argv[1], map_location=lambda s, loc: (locs.append(loc), s)[1])
assert locs == ['cuda:0', 'cpu'], locs
d = torch.load(sys.argv[1], map_location='cpu', weights_only=True)
assert torch.equal(d['g'], torch.tensor([1., 2])) and torch.equal(d['c'], torch.tensor([3], dtype=torch.int32))
print('ok')`,
      [path],
    );
    expect(out.trim()).toBe('ok');
  });
});

describe.skipIf(!needTorch)('safetensors written by saveSafetensors', () => {
  it('our reader and the Python reference reader (tools/fixtures/safetensors_spec.py) read every tensor; bytes equal the reference writer', async () => {
    const st = new Storages();
    const all = dtypeCases(st) as Map<string, unknown>;
    const sd = new Map([...all].filter(([k]) => !k.startsWith('complex')));
    const sink = memorySink();
    await saveSafetensors(sd, sink, { storageBytes: (s) => st.bytes.get(s)!, metadata: { format: 'pt' } });
    const bytes = sink.bytes();
    const ours = readSafetensors(bytes);
    expect([...ours.tensors.keys()].sort()).toEqual([...sd.keys()].sort());
    for (const [name, t] of sd) {
      const ref = t as { storage: StorageRef };
      expect(ours.tensors.get(name), name).toEqual(st.bytes.get(ref.storage));
    }
    const path = join(tempDir(), 'x.safetensors');
    await import('node:fs/promises').then((fs) => fs.writeFile(path, bytes));
    const out = runPython(
      `import sys, torch\nsys.path.insert(0, sys.argv[2])\nimport safetensors_spec as spec\n${PY_DTYPES}
CODE = spec.TORCH_CODE
blob = open(sys.argv[1], 'rb').read()
tensors, meta = spec.read(blob)
assert meta == {'format': 'pt'}, meta
want = {}
for n in NAMES:
    if n.startswith('complex'): continue
    e = expected(n)
    raw = (e.view(torch.int16) if e.dtype in (torch.float16, torch.bfloat16) else e).numpy().tobytes()
    want[n] = (CODE[n], [2, 3], raw)
assert tensors == want, sorted(set(tensors) ^ set(want))
assert spec.write(want, {'format': 'pt'}) == blob
print('ok', len(tensors))`,
      [path, SPEC_DIR],
    );
    expect(out.trim()).toBe('ok 10');
    expect(readFileSync(path).length).toBe(bytes.length);
  });
});

describe.skipIf(!needTorch)('x-checkpoint convert: torch reads the result', () => {
  const FIXTURES = join(import.meta.dirname, '../test/fixtures');
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['convert', ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };

  it('.pt -> .pt keeps values and saved locations; --map-location cpu rewrites cuda tags', async () => {
    const dir = tempDir();
    const kept = join(dir, 'kept.pt');
    const mapped = join(dir, 'mapped.pt');
    expect((await run(join(FIXTURES, 'zip/cuda-mixed.pt'), kept)).code).toBe(0);
    expect(
      (await run(join(FIXTURES, 'zip/cuda-mixed.pt'), mapped, '--map-location', 'cuda:1=cpu,cuda:0=cpu')).code,
    ).toBe(0);
    const out = runPython(
      `import sys, torch
src, kept, mapped = sys.argv[1:]
def locs(p):
    seen = []
    obj = torch.load(p, map_location=lambda s, loc: (seen.append(loc), s)[1])
    return obj, seen
a, la = locs(src)
b, lb = locs(kept)
c, lc = locs(mapped)
assert not torch.cuda.is_available()
plain = torch.load(mapped)  # no map_location: restores every storage where the file says, here cpu
assert {t.device.type for t in plain.values()} == {'cpu'}
assert la == lb and set(la) == {'cuda:0', 'cuda:1', 'cpu'}, (la, lb)
assert lc == ['cpu'] * len(la), lc
for k in a:
    assert torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]), k
assert c['a_view'].storage().data_ptr() == c['a'].storage().data_ptr()
print('ok')`,
      [join(FIXTURES, 'zip/cuda-mixed.pt'), kept, mapped],
    );
    expect(out.trim()).toBe('ok');
  });

  it('.pt -> .safetensors with --dtype float16 writes what .half() gives, readable by the reference reader', async () => {
    const dst = join(tempDir(), 'conv.safetensors');
    const r = await run(join(FIXTURES, 'zip/conv-bn-sequential.pt'), dst, '--dtype', 'float16');
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const out = runPython(
      `import sys, torch\nsys.path.insert(0, sys.argv[3])\nimport safetensors_spec as spec
sd = torch.load(sys.argv[1])
tensors, meta = spec.read(open(sys.argv[2], 'rb').read())
assert meta == {'format': 'pt'} and set(tensors) == set(sd), (meta, set(tensors) ^ set(sd))
for k, t in sd.items():
    e = t.half() if t.is_floating_point() else t
    raw = (e.view(torch.int16) if e.dtype == torch.float16 else e).contiguous().numpy().tobytes()
    assert tensors[k] == (spec.TORCH_CODE[str(e.dtype)[6:]], list(e.shape), raw), k
print('ok', len(tensors))`,
      [join(FIXTURES, 'zip/conv-bn-sequential.pt'), dst, SPEC_DIR],
    );
    expect(out.trim()).toMatch(/^ok \d+$/);
  });

  it('usage mistakes exit 2; a checkpoint it cannot write exits 2; nothing is written', async () => {
    const dir = tempDir();
    expect((await run(join(FIXTURES, 'zip/linear.pt'), join(dir, 'x.onnx'))).code).toBe(2);
    expect((await run(join(FIXTURES, 'zip/linear.pt'), join(dir, 'x.pt'), '--dtype', 'int8')).code).toBe(2);
    const q = await run(join(FIXTURES, 'zip/quantized.pt'), join(dir, 'q.safetensors')); // safetensors has no quantized dtypes
    expect(q.code).toBe(2);
    expect(q.err.join('\n')).toMatch(/^x-checkpoint: TENSOR_UNSUPPORTED: /);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe.skipIf(!needTorch)('TF.js tensors from load() go back in their original torch dtype', () => {
  it('zip/dtypes.pt loaded as TF.js tensors, saved, loads in torch with the same dtypes and values', async () => {
    const src = join(import.meta.dirname, '../test/fixtures/zip/dtypes.pt');
    const { value, report } = await load(new Uint8Array(readFileSync(src)), { mapLocation: 'cpu' });
    const dst = join(tempDir(), 'dtypes.pt');
    await save(value, dst);
    // tensors whose values changed on the way into TF.js (load reports them lossy) keep their dtype only
    const lossy = report.conversions.filter((c) => c.lossy !== undefined).map((c) => c.name);
    expect(lossy).toContain('float64');
    const out = runPython(
      `import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2], weights_only=True)
assert list(a) == list(b)
lossy = set(sys.argv[3].split(','))
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    assert k in lossy or torch.equal(a[k], b[k]), (k, a[k], b[k])
print('ok', len(a), sorted({str(t.dtype) for t in a.values()}))`,
      [src, dst, lossy.join(',')],
    );
    expect(out.trim()).toMatch(/^ok \d+ .*torch\.float16.*torch\.int64/);
  });
});

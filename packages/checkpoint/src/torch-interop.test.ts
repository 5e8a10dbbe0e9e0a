/**
 * Files written by real PyTorch, read by the zip reader and the unpickler. Runs only where a
 * Python with torch exists (`X_TORCH_PYTHON`, default `/usr/bin/python3`); expected values are
 * what torch itself reports for the same objects.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromFile } from './node/source.js';
import { openZip } from './zip/archive.js';
import { unpickle } from './pickle/unpickler.js';
import { createStorageTable } from './pickle/storage.js';
import { numpyInfo } from './pickle/numpy.js';
import {
  isTensorRef,
  type QuantizedTensorRef,
  type RebuiltTensorRef,
  type SparseTensorRef,
} from './pickle/tensor-refs.js';
import { DType, isFloat, OrderedDict, PyObject, TorchSize, Tuple } from './pickle/values.js';
import { expectCode } from './testing/helpers.js';

const PYTHON = process.env.X_TORCH_PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { timeout: 60_000 }).status === 0;

const SCRIPT = String.raw`
import io, json, sys, zipfile, torch, numpy as np
out = sys.argv[1]
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
x = torch.arange(10)
obj = {
    'state': net.state_dict(),
    'views': [x, x[2:5], x.view(2, 5).t(), x[::3]],
    'half': torch.tensor([1.5, -2.0], dtype=torch.float16),
    'bf16': torch.tensor([[1.0, 2.0]], dtype=torch.bfloat16),
    'bool': torch.tensor([True, False, True]),
    'cfloat': torch.tensor([1 + 2j]),
    'param': torch.nn.Parameter(torch.ones(2, 2)),
    'grad': torch.zeros(3, requires_grad=True),
    'scalar': torch.tensor(7.0),
    'expanded': torch.ones(1).expand(3),
    'q': torch.quantize_per_tensor(torch.tensor([0.0, 0.5, 1.0]), 0.5, 3, torch.qint8),
    'coo': torch.tensor([[0.0, 1.0], [2.0, 0.0]]).to_sparse(),
    'meta': torch.empty(2, 3, device='meta'),
    'lr': 1.0, 'big': 2 ** 60, 'neg': -(2 ** 63), 'name': 'caf\u00e9 \ud800',
    'size': torch.Size([2, 3]), 'dev': torch.device('cuda', 1), 'dtype': torch.float16,
    'np': np.arange(6, dtype=np.float64).reshape(2, 3), 'npscalar': np.float64(1.0), 'npint': np.int64(-3),
    'set': {1, 2}, 'bytes': b'\x00\xff', 'tuple': (1, (2.5, None)),
}
torch.save(obj, out + '/model.pt')
torch.save(obj, out + '/p4.pt', pickle_protocol=4)
with zipfile.ZipFile(out + '/model.pt') as src, zipfile.ZipFile(out + '/deflated.pt', 'w', zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)
sys.modules['__main__'].Net = Net
Net.__module__ = '__main__'
torch.save(Net(), out + '/whole.pt')

def describe(t):
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'stride': list(t.stride()),
            'offset': t.storage_offset(), 'requires_grad': t.requires_grad, 'parameter': isinstance(t, torch.nn.Parameter),
            'storage_bytes': t.storage().nbytes() if t.device.type != 'meta' else None,
            'ptr': t.storage().data_ptr() if t.device.type != 'meta' else None}
manifest = {
    'state': {k: describe(v) for k, v in obj['state'].items()},
    'metadata': {k: dict(v) for k, v in obj['state']._metadata.items()},
    'views': [describe(v) for v in obj['views']],
    'tensors': {k: describe(obj[k]) for k in ['half', 'bf16', 'bool', 'cfloat', 'param', 'grad', 'scalar', 'expanded']},
    'q': {'scale': obj['q'].q_scale(), 'zero_point': obj['q'].q_zero_point(), 'int_repr_bytes': obj['q'].storage().nbytes()},
    'coo': {'shape': list(obj['coo'].shape), 'nnz': obj['coo']._nnz()},
    'x_bytes': list(x.numpy().tobytes()),
}
json.dump(manifest, open(out + '/manifest.json', 'w'))
`;

interface Described {
  dtype: string;
  shape: number[];
  stride: number[];
  offset: number;
  requires_grad: boolean;
  parameter: boolean;
  storage_bytes: number | null;
  ptr: number | null;
}

describe.skipIf(!hasTorch)('files written by torch (real PyTorch)', () => {
  let dir = '';
  let manifest: {
    state: Record<string, Described>;
    metadata: Record<string, Record<string, number>>;
    views: Described[];
    tensors: Record<string, Described>;
    q: { scale: number; zero_point: number; int_repr_bytes: number };
    coo: { shape: number[]; nnz: number };
    x_bytes: number[];
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'x-ckpt-'));
    const run = spawnSync(PYTHON, ['-c', SCRIPT, dir], { timeout: 120_000, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`python failed: ${run.stderr}`);
    const file = await fromFile(join(dir, 'manifest.json'));
    manifest = JSON.parse(new TextDecoder().decode(await file.read(0, file.size))) as typeof manifest;
    await file.close();
  }, 180_000);

  afterAll(async () => {
    for (const source of opened) await source.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const opened: { close(): Promise<void> }[] = [];
  const load = async (name: string, unknownClasses: 'error' | 'record' = 'error') => {
    const source = await fromFile(join(dir, name));
    opened.push(source);
    const zip = await openZip(source, { verify: true });
    const table = createStorageTable();
    const value = unpickle(await zip.read('data.pkl'), {
      persistentLoad: table.persistentLoad,
      entry: `${zip.prefix}/data.pkl`,
      unknownClasses,
    });
    return { zip, value, table };
  };

  const expectTensor = (ref: unknown, d: Described) => {
    expect(isTensorRef(ref)).toBe(true);
    const t = ref as RebuiltTensorRef;
    expect({
      dtype: t.dtype,
      shape: t.shape,
      stride: t.stride,
      offset: t.offset,
      requires_grad: t.requiresGrad,
      parameter: t.parameter,
      storage_bytes: t.storage.byteLength,
    }).toEqual({
      dtype: d.dtype,
      shape: d.shape,
      stride: d.stride,
      offset: d.offset,
      requires_grad: d.requires_grad,
      parameter: d.parameter,
      storage_bytes: d.storage_bytes,
    });
  };

  it.each(['model.pt', 'deflated.pt', 'p4.pt'])('%s: every value matches what torch reports', async (name) => {
    const { zip, value, table } = await load(name);
    expect(zip.prefix).toBe(name === 'deflated.pt' ? 'model' : name.slice(0, -3));
    const v = value as Map<string, unknown>;
    const state = v.get('state') as OrderedDict<string, unknown>;
    expect(state).toBeInstanceOf(OrderedDict);
    expect([...state.keys()]).toEqual(Object.keys(manifest.state));
    for (const [k, d] of Object.entries(manifest.state)) expectTensor(state.get(k), d);
    expect(Object.fromEntries([...state.metadata!].map(([k, m]) => [k, Object.fromEntries(m)]))).toEqual(
      manifest.metadata,
    );

    const views = v.get('views') as RebuiltTensorRef[];
    for (const [i, t] of views.entries()) expectTensor(t, manifest.views[i]!);
    expect(new Set(views.map((t) => t.storage)).size).toBe(1);
    for (const [k, d] of Object.entries(manifest.tensors)) expectTensor(v.get(k), d);

    const q = v.get('q') as QuantizedTensorRef;
    expect(q.quantizer).toEqual({
      qscheme: 'per_tensor_affine',
      scale: manifest.q.scale,
      zeroPoint: manifest.q.zero_point,
    });
    expect(q.data.storage.byteLength).toBe(manifest.q.int_repr_bytes);
    const coo = v.get('coo') as SparseTensorRef & { layout: 'sparse_coo' };
    expect(coo.shape).toEqual(manifest.coo.shape);
    expect(coo.values.shape).toEqual([manifest.coo.nnz]);
    expect(v.get('meta')).toEqual({
      kind: 'meta',
      dtype: 'float32',
      shape: [2, 3],
      stride: [3, 1],
      requiresGrad: false,
    });

    expect(v.get('lr')).toBe(1);
    expect(isFloat(v, 'lr')).toBe(true);
    expect(v.get('big')).toBe(2n ** 60n);
    expect(v.get('neg')).toBe(-(2n ** 63n));
    expect(v.get('name')).toBe('caf\u00e9 \ud800');
    expect(v.get('size')).toBeInstanceOf(TorchSize);
    expect([...(v.get('size') as Tuple)]).toEqual([2, 3]);
    expect(String(v.get('dev'))).toBe('cuda:1');
    expect(v.get('dtype')).toEqual(new DType('float16'));
    expect(v.get('np')).toEqual(new Float64Array([0, 1, 2, 3, 4, 5]));
    expect(numpyInfo(v.get('np'))?.shape).toEqual([2, 3]);
    expect(v.get('npscalar')).toBe(1);
    expect(isFloat(v, 'npscalar')).toBe(true);
    expect(v.get('npint')).toBe(-3);
    expect(v.get('set')).toEqual(new Set([1, 2]));
    expect(v.get('bytes')).toEqual(new Uint8Array([0, 255]));
    const tup = v.get('tuple') as Tuple;
    expect(tup).toBeInstanceOf(Tuple);
    expect(isFloat(tup[1] as Tuple, 0)).toBe(false); // 2.5 is not integral

    // the int64 arange(10) record holds exactly torch's bytes
    const x = views[0]!;
    expect([...(await zip.read(`data/${x.storage.key}`))]).toEqual(manifest.x_bytes);
    for (const s of table.storages.values()) expect(zip.entry(`data/${s.key}`).size).toBe(s.byteLength);
  });

  it('torch.save(model) needs unknownClasses: "record", then yields inert records holding the tensors', async () => {
    const e = await expectCode(load('whole.pt'), 'PICKLE_UNSAFE_GLOBAL');
    expect(e.message).toContain('__main__.Net');
    const { value } = await load('whole.pt', 'record');
    expect(value).toBeInstanceOf(PyObject);
    const net = value as PyObject;
    expect(`${net.module}.${net.name}`).toBe('__main__.Net');
    const modules = (net.state as Map<string, unknown>).get('_modules') as OrderedDict<string, PyObject>;
    const fc = modules.get('fc')!;
    expect(`${fc.module}.${fc.name}`).toBe('torch.nn.modules.linear.Linear');
    const params = (fc.state as Map<string, unknown>).get('_parameters') as OrderedDict<string, RebuiltTensorRef>;
    expect(params.get('weight')).toMatchObject({ shape: [2, 2], parameter: true, requiresGrad: true });
  });
});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from '../errors.js';
import { load } from '../load.js';
import { unpickle } from './unpickler.js';
import { pickle } from './pickler.js';
import { save } from '../node/save.js';
import { fromFile } from '../node/source.js';
import {
  buildCases,
  CASE_NAMES,
  goldenBytes,
  readCase,
  runPython,
  runPython2,
  runTorch2Tests,
  sameBytes,
  saveTorchCases,
  Storages,
  arangeF32,
  tempDir,
  torchAvailable,
} from '../testing/torch.js';
import { tuple } from './values.js';

describe('pickle', () => {
  it('has torch when CI is set (interop tests never skip there)', () => {
    expect(torchAvailable || process.env.CI === undefined).toBe(true);
  });

  it('reproduces the data.pkl of the golden vector (bytes 64..218)', () => {
    const golden = goldenBytes();
    expect(createHash('sha256').update(golden).digest('hex')).toBe(
      '51ef9ed607fa7864ac3edaeb8dc4890d658ad11488a0101470806bac476fcedc',
    );
    const { bytes, storages } = pickle(buildCases().golden!.value);
    expect(sameBytes(bytes, golden.subarray(64, 64 + 154))).toBe('identical');
    expect(storages.map((s) => s.key)).toEqual(['0']);
  });

  it('numbers storages by first encounter and writes a shared storage once', () => {
    const st = new Storages();
    const a = st.storage('float32', arangeF32(4));
    const b = st.storage('float32', arangeF32(2));
    const { storages } = pickle([st.tensor(b, [2], [1]), st.tensor(a, [4], [1]), st.tensor(b, [1], [1], 1)]);
    expect(storages).toEqual([
      { key: '0', storage: b },
      { key: '1', storage: a },
    ]);
  });

  it('re-emits an indexed location for every storage (torch builds "cuda:" + str(i) afresh)', () => {
    const st = new Storages();
    const value = [
      st.tensor(st.storage('float32', arangeF32(1), 'cuda:0'), [1], [1]),
      st.tensor(st.storage('float32', arangeF32(1), 'cuda:0'), [1], [1]),
    ];
    const text = Buffer.from(pickle(value).bytes).toString('latin1');
    expect(text.split('X\x06\x00\x00\x00cuda:0').length - 1).toBe(2);
    const cpu = Buffer.from(pickle(value, { location: () => 'cpu' }).bytes).toString('latin1');
    expect(cpu.split('X\x03\x00\x00\x00cpu').length - 1).toBe(1);
  });

  it('rejects values Python has no form for, with PICKLE_TYPE', () => {
    for (const bad of [undefined, () => 1, { a: 1 }, Symbol('s'), new Date(0), new WeakMap()]) {
      let error: unknown;
      try {
        pickle([bad]);
      } catch (e) {
        error = e;
      }
      expect(isCheckpointError(error) && error.code).toBe('PICKLE_TYPE');
    }
  });

  it('stops at maxDepth with PICKLE_LIMIT', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    expect(() => pickle(deep, { maxDepth: 10 })).toThrow(expect.objectContaining({ code: 'PICKLE_LIMIT' }));
    expect(() => pickle(deep, { maxDepth: 30 })).not.toThrow();
  });

  it('handles tuples that contain themselves through a list as CPython does (POP / POP_MARK + BINGET)', () => {
    // Expected bytes: CPython 3.11 pickle.dumps(t, 2) for l = []; t = (l,) / (1, 2, 3, 4, l); l.append(t)
    const small: unknown[] = [];
    const t1 = tuple<unknown[]>(small);
    small.push(t1);
    expect(Buffer.from(pickle(t1).bytes).toString('hex')).toBe('80025d71006800857101613068012e');
    const big: unknown[] = [];
    const t5 = tuple<unknown[]>(1, 2, 3, 4, big);
    big.push(t5);
    expect(Buffer.from(pickle(t5).bytes).toString('hex')).toBe(
      '8002284b014b024b034b045d7100284b014b024b034b046800747101613168012e',
    );
  });
});

describe.skipIf(!torchAvailable)('pickle matches torch 1.13 byte for byte', () => {
  let dir = '';
  beforeAll(() => {
    dir = saveTorchCases();
  }, 120_000);

  for (const name of CASE_NAMES) {
    it(`data.pkl of "${name}"`, () => {
      const c = buildCases()[name]!;
      expect(sameBytes(pickle(c.value).bytes, readCase(dir, `${name}.pkl`))).toBe('identical');
    });
  }
});

/**
 * CPython 3.11's own protocol-2 pickles of numpy values and of classes the unpickler keeps as
 * records: unpickled (`unknownClasses: 'record'`) and pickled again, they must come back byte for byte.
 */
const PYTHON_PICKLES = `import collections, json, pickle, sys
import numpy as np
Point = collections.namedtuple('Point', 'x y')
class L(list): pass
class D(dict): pass
class O:
    def __init__(self):
        self.a = 1
        self.b = [1.0, -0.0]
l = L([1, 2]); l.tag = 'x'
d = D(); d['k'] = 1.5
cases = {
    'numpy': {'be': np.arange(6, dtype='>i4').reshape(2, 3), 'fortran': np.asfortranarray(np.arange(6.).reshape(2, 3)),
              'bool': np.array([True, False]), 'half': np.float16(1.5), 'c64': np.complex64(1 + 2j), 'u64': np.uint64(2**63 + 1),
              'i64': np.int64(-3), 'one': np.float64(1.0), 'shared': [np.float32(0.5), np.arange(2, dtype=np.float32)],
              'empty': np.zeros(0), 'byte': np.array([7], dtype=np.uint8), 'flag': np.bool_(True)},
    'records': {'p': Point(1, 2.0), 'l': l, 'd': d, 'o': O(), 's': {3}, 'e': set(), 'z': complex(1, 0)},
}
json.dump({k: pickle.dumps(v, 2).hex() for k, v in cases.items()}, sys.stdout)
`;

// numpy 1.x pickles `numpy.core.multiarray` globals, numpy 2 `numpy._core.multiarray`: each comes back as written
for (const [numpy, available, run] of [
  ['numpy 1.x', torchAvailable, runPython],
  ['numpy 2 (torch 2.13 venv)', runTorch2Tests, runPython2],
] as const) {
  describe.skipIf(!available)(`pickle matches CPython for numpy values and records, ${numpy}`, () => {
    const cases = available ? (JSON.parse(run(PYTHON_PICKLES)) as Record<string, string>) : {};
    it.each(Object.keys(cases))('%s', (name) => {
      const bytes = Buffer.from(cases[name]!, 'hex');
      const again = pickle(unpickle(bytes, { unknownClasses: 'record' })).bytes;
      expect(sameBytes(again, bytes)).toBe('identical');
    });
  });
}

describe.skipIf(!torchAvailable)('save matches torch 1.13 for tensors the fixtures do not hold', () => {
  it('CSR (_rebuild_sparse_csr_tensor), a layout value, an uncoalesced COO and a qint8 tensor', async () => {
    const file = join(tempDir(), 'more.pt');
    runPython(
      `import sys, torch
i = torch.tensor([[1, 0, 1], [0, 2, 0]])
coo = torch.sparse_coo_tensor(i, torch.tensor([1., 2., 3.]), (2, 3))
csr = torch.eye(3).to_sparse_csr()
torch.save({'csr': csr, 'layout': torch.sparse_csr, 'coo': coo, 'q': torch.quantize_per_tensor(torch.tensor([1.0, 2.0]), 1.0, 0, torch.qint8)}, sys.argv[1])`,
      [file],
    );
    const torch = new Uint8Array(readFileSync(file));
    const source = await fromFile(file);
    const { value } = await load(source, { dtype: 'raw', mapLocation: 'cpu' });
    await source.close();
    const out = join(tempDir(), 'more.pt');
    await save(value, out, { layout: '1.13' });
    expect(sameBytes(new Uint8Array(readFileSync(out)), torch)).toBe('identical');
  });
});

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from './errors.js';
import { pickle } from './pickler.js';
import { buildCases, CASE_NAMES, goldenBytes, readCase, sameBytes, saveTorchCases, Storages, arangeF32, torchAvailable } from './test-torch.js';
import { PyObject, tuple } from './values.js';

describe('pickle', () => {
  it('has torch when CI is set (interop tests never skip there)', () => {
    expect(torchAvailable || process.env.CI === undefined).toBe(true);
  });

  it('reproduces the data.pkl of the §1.11 golden vector (bytes 64..218)', () => {
    const golden = goldenBytes();
    expect(createHash('sha256').update(golden).digest('hex')).toBe('51ef9ed607fa7864ac3edaeb8dc4890d658ad11488a0101470806bac476fcedc');
    const { bytes, storages } = pickle(buildCases().golden!.value);
    expect(sameBytes(bytes, golden.subarray(64, 64 + 154))).toBe('identical');
    expect(storages.map((s) => s.key)).toEqual(['0']);
  });

  it('numbers storages by first encounter and writes a shared storage once', () => {
    const st = new Storages();
    const a = st.storage('float32', arangeF32(4));
    const b = st.storage('float32', arangeF32(2));
    const { storages } = pickle([st.tensor(b, [2], [1]), st.tensor(a, [4], [1]), st.tensor(b, [1], [1], 1)]);
    expect(storages).toEqual([{ key: '0', storage: b }, { key: '1', storage: a }]);
  });

  it('re-emits an indexed location for every storage (torch builds "cuda:" + str(i) afresh)', () => {
    const st = new Storages();
    const value = [st.tensor(st.storage('float32', arangeF32(1), 'cuda:0'), [1], [1]), st.tensor(st.storage('float32', arangeF32(1), 'cuda:0'), [1], [1])];
    const text = Buffer.from(pickle(value).bytes).toString('latin1');
    expect(text.split('X\x06\x00\x00\x00cuda:0').length - 1).toBe(2);
    const cpu = Buffer.from(pickle(value, { location: () => 'cpu' }).bytes).toString('latin1');
    expect(cpu.split('X\x03\x00\x00\x00cpu').length - 1).toBe(1);
  });

  it('rejects values Python has no form for, with PICKLE_TYPE', () => {
    for (const bad of [undefined, () => 1, { a: 1 }, new PyObject('__main__', 'Net'), Symbol('s'), new Set([1])]) {
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
    const t1 = tuple<unknown>(small);
    small.push(t1);
    expect(Buffer.from(pickle(t1).bytes).toString('hex')).toBe('80025d71006800857101613068012e');
    const big: unknown[] = [];
    const t5 = tuple<unknown>(1, 2, 3, 4, big);
    big.push(t5);
    expect(Buffer.from(pickle(t5).bytes).toString('hex')).toBe('8002284b014b024b034b045d7100284b014b024b034b046800747101613168012e');
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

import { createHash } from 'node:crypto';
import { PickleBuilder, torchZip } from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { fromBytes } from './source.js';
import { openZip } from './zip/archive.js';
import { unpickle } from './pickle/unpickler.js';
import { createStorageTable } from './pickle/storage.js';
import { OrderedDict, Tuple } from './pickle/values.js';
import { isTensorRef } from './pickle/tensor-refs.js';
import { ARANGE6, GOLDEN_DUMP, goldenPickle, parseDump } from './testing/helpers.js';

describe('golden vector (torch.save of an arange(6) state dict)', () => {
  const golden = parseDump(GOLDEN_DUMP);

  it('is the documented file: 747 bytes with the documented SHA-256', () => {
    expect(golden.length).toBe(747);
    expect(createHash('sha256').update(golden).digest('hex')).toBe(
      '51ef9ed607fa7864ac3edaeb8dc4890d658ad11488a0101470806bac476fcedc',
    );
  });

  it('the builders reproduce it byte for byte from the pickle listing', () => {
    const pkl = goldenPickle();
    expect(pkl.length).toBe(154);
    expect(
      torchZip([
        ['data.pkl', pkl],
        ['data/0', ARANGE6],
        ['version', '3\n'],
      ]).bytes,
    ).toEqual(golden);
  });

  it('opens with the documented layout and unpickles to one float32 tensor view', async () => {
    const zip = await openZip(fromBytes(golden), { verify: true });
    expect(zip.prefix).toBe('archive');
    expect([...zip.entries.keys()]).toEqual(['data.pkl', 'data/0', 'version']);
    expect(await zip.dataOffset('data.pkl')).toBe(64);
    expect(await zip.dataOffset('data/0')).toBe(320);
    expect(await zip.dataOffset('version')).toBe(448);
    expect(new TextDecoder().decode(await zip.read('version'))).toBe('3\n');
    expect(await zip.read('data/0')).toEqual(ARANGE6);

    const table = createStorageTable();
    const value = unpickle(await zip.read('data.pkl'), {
      persistentLoad: table.persistentLoad,
      entry: 'archive/data.pkl',
    });
    expect(isTensorRef(value)).toBe(true);
    expect(value).toMatchObject({
      storage: { key: '0', dtype: 'float32', location: 'cpu', numel: 6, byteLength: 24 },
      offset: 0,
      shape: [2, 3],
      stride: [3, 1],
      dtype: 'float32',
      requiresGrad: false,
      parameter: false,
      conj: false,
      neg: false,
    });
    expect([...table.storages.keys()]).toEqual(['0']);
  });

  it('keeps Tuple / OrderedDict types from the pickle', () => {
    const p = new PickleBuilder().proto(2).orderedDict().str('size').int(2).int(3).tuple2().setitem().stop();
    const v = unpickle(p.bytes()) as OrderedDict;
    expect(v).toBeInstanceOf(OrderedDict);
    expect(v.get('size')).toBeInstanceOf(Tuple);
  });
});

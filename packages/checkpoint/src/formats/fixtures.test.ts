import { describe, expect, it } from 'vitest';
import { PyObject } from '../pickle/values.js';
import { checkTensors, checkValue, fixtureBytes, MANIFEST, openFixture, strided } from '../testing/manifest.js';

const readable = MANIFEST.fixtures.filter((f) => f.error === undefined);

describe('every real fixture opens with the manifest’s tensors', () => {
  it.each(readable.map((f) => [f.file, f] as const))('%s', async (_file, fx) => {
    const c = await openFixture(fx.file, fx.file.endsWith('zip/whole-module.pt') ? { unknownClasses: 'record' } : {});
    try {
      expect(c.format).toBe(fx.format);
      await checkTensors(c, fx);
      if (fx.format === 'safetensors' || fx.format === 'sharded') return; // no pickling order (see below)
      // tensors are listed in depth-first (pickling) order, which is the manifest's order
      const listed = strided(c).map((t) => JSON.stringify(t.path));
      const manifestOrder = fx.tensors.map((t) => JSON.stringify(t.path)).filter((p) => listed.includes(p));
      expect(listed.filter((p) => manifestOrder.includes(p))).toEqual(manifestOrder);
    } finally {
      await c.close();
    }
  });
});

describe('non-tensor values', () => {
  const pickled = readable.filter(
    (f) => f.values != null && ['zip', 'legacy', 'tar'].includes(f.format) && !f.file.endsWith('zip/whole-module.pt'),
  );
  it.each(pickled.map((f) => [f.file, f] as const))('%s', async (_file, fx) => {
    const c = await openFixture(fx.file);
    const root = c.root as Map<unknown, unknown> & { metadata?: unknown };
    for (const [key, want] of Object.entries(fx.values!)) {
      if (key === '_metadata') checkValue(c, root.metadata, want, undefined, undefined, '_metadata');
      else checkValue(c, root.get(key), want, root, key, key);
    }
  });

  it('the training checkpoint keeps BigInts, integral floats, tuples and tuple keys', async () => {
    const c = await openFixture('zip/training-checkpoint.pt');
    const root = c.root as Map<string, unknown>;
    expect(typeof root.get('big')).toBe('bigint');
    const ids = root.get('ids') as Map<unknown, unknown>;
    expect([...ids.keys()].map((k) => (Array.isArray(k) ? [...k] : k))).toEqual([1, [2, 3]]);
  });

  it('whole-module.pt yields inert records with its tensors when unknown classes are recorded', async () => {
    const fx = MANIFEST.fixtures.find((f) => f.file === 'zip/whole-module.pt')!;
    const c = await openFixture(fx.file, { unknownClasses: 'record' });
    expect(c.root).toBeInstanceOf(PyObject);
    const obj = c.root as PyObject;
    expect(`${obj.module}.${obj.name}`).toBe(fx.values!.class);
    const state = obj.state as Map<string, unknown>;
    expect([state.get('label'), state.get('training')]).toEqual([fx.values!.label, fx.values!.training]);
    const fc = (state.get('_modules') as Map<string, unknown>).get('fc');
    expect(fc).toBeInstanceOf(PyObject);
    expect((fc as PyObject).module).toBe('torch.nn.modules.linear');
  });

  it('TorchScript: the root is the state dict, parameters then buffers per module, submodules after', async () => {
    const fx = MANIFEST.fixtures.find((f) => f.format === 'torchscript')!;
    const c = await openFixture(fx.file);
    const { parameters, buffers } = fx.values as { parameters: string[]; buffers: string[] };
    const keys = [...(c.root as Map<string, unknown>).keys()];
    expect(keys).toEqual(fx.tensors.map((t) => t.path[0]));
    expect(new Set(keys)).toEqual(new Set([...parameters, ...buffers]));
    expect(c.metadata?.get('version')).toBe(3);
  });

  it('safetensors exposes __metadata__; the root is in data order', async () => {
    const fx = MANIFEST.fixtures.find((f) => f.format === 'safetensors')!;
    const c = await openFixture(fx.file);
    expect(Object.fromEntries(c.metadata!)).toEqual(fx.values!.__metadata__);
    const starts = strided(c).map((t) => t.ref.storage);
    expect(c.storages).toEqual(starts);
    const bytes = fixtureBytes(fx.file);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<
      string,
      { data_offsets: number[] }
    >;
    const offsets = strided(c).map((t) => header[t.name]!.data_offsets[0]!);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });

  it.each(readable.filter((f) => f.format === 'sharded').map((f) => [f.file, f] as const))(
    'sharded %s: index metadata, root in shard order',
    async (_file, fx) => {
      const c = await openFixture(fx.file);
      expect(c.metadata?.get('total_size')).toBe(fx.values!.total_size);
      const keys = [...(c.root as Map<string, unknown>).keys()];
      const shardOf = new Map(fx.tensors.map((t) => [t.path[0], t.shard]));
      expect(keys.map((k) => shardOf.get(k))).toEqual([...fx.tensors.map((t) => t.shard)].sort());
      if (fx.file.endsWith('.bin.index.json')) expect(keys).toEqual(fx.tensors.map((t) => t.path[0]));
      const bytes = strided(c).reduce((n, t) => n + t.ref.storage.byteLength, 0);
      expect(bytes).toBe(fx.values!.total_size);
      await c.close();
    },
  );

  it('archive metadata records: byte order and the ≈2.7 records', async () => {
    expect((await openFixture('zip/big-endian.pt')).metadata?.get('byteorder')).toBe('big');
    const newest = await openFixture('zip/format-2.7.pt');
    expect(Object.fromEntries(newest.metadata!)).toEqual({
      version: 3,
      byteorder: 'little',
      format_version: 1,
      storage_alignment: 64,
      serialization_id: expect.stringMatching(/^[0-9]{40}$/) as unknown,
    });
    expect((await openFixture('zip/dtypes.pt')).metadata?.get('byteorder')).toBe('little');
  });
});

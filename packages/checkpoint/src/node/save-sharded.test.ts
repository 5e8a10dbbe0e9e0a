import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../formats/safetensors/header.js';
import { prepareValue } from '../tensors/prepare.js';
import { parseSize, planShards, saveSharded } from './save-sharded.js';
import { runPython, Storages, tempDir, torchAvailable } from '../testing/torch.js';
import { OrderedDict } from '../pickle/values.js';

const needTorch = torchAvailable || process.env.CI !== undefined;

/** Four float32 tensors of 40, 64, 16 and 32 bytes (10, 16, 4, 8 elements holding 100·k + i). */
function stateDict(): { sd: OrderedDict<string, unknown>; st: Storages } {
  const st = new Storages();
  const sd = new OrderedDict<string, unknown>();
  for (const [k, [name, n]] of (
    [
      ['embed.weight', 10],
      ['layers.0.weight', 16],
      ['layers.0.bias', 4],
      ['head.weight', 8],
    ] as const
  ).entries()) {
    sd.set(
      name,
      st.tensor(
        st.storage(
          'float32',
          Float32Array.from({ length: n }, (_, i) => 100 * k + i),
        ),
        [n],
        [1],
      ),
    );
  }
  return { sd, st };
}

describe('parseSize / planShards', () => {
  it('sizes as save_pretrained reads them', () => {
    expect(parseSize('5GB')).toBe(5 * 10 ** 9);
    expect(parseSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseSize('10 kb')).toBe(10_000);
    expect(parseSize(100)).toBe(100);
    expect(() => parseSize('lots')).toThrow(/maxShardSize/);
    expect(() => parseSize(0)).toThrow(/maxShardSize/);
  });

  it('closes a shard before it would exceed the limit; views of one storage stay together', () => {
    const { sd, st } = stateDict();
    const p = prepareValue(sd, { storageBytes: (s) => st.bytes.get(s)! });
    // 40 + 64 = 104 > 100: embed alone; 64 + 16 = 80; + 32 = 112 > 100
    expect(planShards(p.tensors, 100).map((s) => s.map((t) => t.name))).toEqual([
      ['embed.weight'],
      ['layers.0.weight', 'layers.0.bias'],
      ['head.weight'],
    ]);
    // a tensor larger than the limit gets a shard of its own
    expect(planShards(p.tensors, 10).length).toBe(4);
    const s = st.storage('float32', new Float32Array(4));
    const tied = prepareValue(
      new Map([
        ['a', st.tensor(s, [4], [1])],
        ['x', sd.get('head.weight')],
        ['b', st.tensor(s, [2], [1], 2)],
      ]),
      {
        storageBytes: (r) => st.bytes.get(r)!,
      },
    );
    expect(planShards(tied.tensors, 24).map((g) => g.map((t) => t.name))).toEqual([['a', 'b'], ['x']]);
  });
});

describe.skipIf(!needTorch)('saveSharded', () => {
  it('torch shards + pytorch_model.bin.index.json: torch loads every shard (weights_only) and the index names them', async () => {
    const { sd, st } = stateDict();
    const dir = tempDir();
    const r = await saveSharded(sd, dir, { maxShardSize: 110, storageBytes: (s) => st.bytes.get(s)! });
    expect(r.files).toEqual(['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']);
    expect(readdirSync(dir).sort()).toEqual([...r.files, 'pytorch_model.bin.index.json'].sort());
    const out = runPython(
      `import sys, os, json, collections, torch
d = sys.argv[1]
idx = json.load(open(os.path.join(d, 'pytorch_model.bin.index.json')))
assert idx['metadata'] == {'total_size': 4 * (10 + 16 + 4 + 8)}, idx
sizes = {'embed.weight': 10, 'layers.0.weight': 16, 'layers.0.bias': 4, 'head.weight': 8}
seen = {}
for shard in sorted(set(idx['weight_map'].values())):
    part = torch.load(os.path.join(d, shard), weights_only=True)
    assert type(part) is collections.OrderedDict
    for name, t in part.items():
        assert idx['weight_map'][name] == shard
        seen[name] = t
for k, (name, n) in enumerate(sizes.items()):
    assert torch.equal(seen[name], torch.arange(n, dtype=torch.float32) + 100 * k), name
assert list(idx['weight_map']) == sorted(sizes)
assert open(os.path.join(d, 'pytorch_model.bin.index.json')).read() == json.dumps(idx, indent=2, sort_keys=True) + '\\n'
print('ok', len(seen))`,
      [dir],
    );
    expect(out.trim()).toBe('ok 4');
  });

  it('safetensors shards + model.safetensors.index.json, read back by our reader', async () => {
    const { sd, st } = stateDict();
    const dir = tempDir();
    const r = await saveSharded(sd, dir, {
      format: 'safetensors',
      maxShardSize: 110,
      storageBytes: (s) => st.bytes.get(s)!,
    });
    expect(r.index).toBe('model.safetensors.index.json');
    const index = JSON.parse(readFileSync(join(dir, r.index!), 'utf8')) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    expect(index.metadata.total_size).toBe(4 * 38);
    for (const [name, t] of sd) {
      const file = readSafetensors(new Uint8Array(readFileSync(join(dir, index.weight_map[name]!))));
      expect(file.header.metadata?.get('format')).toBe('pt');
      expect(file.tensors.get(name), name).toEqual(st.bytes.get((t as { storage: never }).storage));
    }
  });

  it('one shard is written under the plain name with no index, as save_pretrained does', async () => {
    const { sd, st } = stateDict();
    const dir = tempDir();
    const r = await saveSharded(sd, dir, { storageBytes: (s) => st.bytes.get(s)! });
    expect(r.index).toBeUndefined();
    expect(readdirSync(dir)).toEqual(['pytorch_model.bin']);
  });
});

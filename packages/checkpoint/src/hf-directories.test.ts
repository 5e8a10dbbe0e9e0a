/**
 * Hugging Face model directories (test/fixtures/hf, written by transformers 5.18 through
 * tools/fixtures/make_hf_fixtures.py): `inspect` of every directory, index and file equals what
 * `safetensors.torch.load_file` / `torch.load(weights_only=True)` return, name for name, SHA-256
 * for SHA-256, ties included. The expected values are the manifest's (recorded from those
 * libraries) and, with the torch-2 venv (`X_TORCH2_PYTHON`, default `<repo>/.venv-torch2`),
 * recomputed by the libraries from the committed files at test time; in CI a missing venv fails.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isCheckpointError } from './errors.js';
import type { InspectResult } from './inspect.js';
import { inspect, load, open, saveSafetensors, saveSharded } from './node.js';
import { tempDir } from './testing/torch.js';

const ROOT = join(import.meta.dirname, '../../..');
const HF = join(import.meta.dirname, '../test/fixtures/hf');
const TOOLS = join(ROOT, 'tools/fixtures');
const PYTHON = process.env.X_TORCH2_PYTHON ?? join(ROOT, '.venv-torch2/bin/python');
const torch2 = spawnSync(PYTHON, ['-c', 'import torch, safetensors'], { stdio: 'ignore' }).status === 0;
const needTorch2 = torch2 || process.env.CI !== undefined;

/** What hf_reference.py reports for a directory or file. */
interface Reference {
  readonly file: string;
  readonly tensors: Record<string, { dtype: string; shape: number[]; sha256: string; shard: string }>;
  readonly shared: string[][];
  readonly metadata: Record<string, Record<string, string> | null>;
}

interface Fixture {
  readonly dir: string;
  readonly variant: string;
  readonly files: string[];
  readonly shards_starting_0x80: string[];
  readonly reference: Reference;
}

const manifest = JSON.parse(readFileSync(join(HF, 'manifest.json'), 'utf8')) as { fixtures: Fixture[] };
const fixtures = manifest.fixtures;

/** Runs hf_reference.py's `reference` on each path in one Python process. */
function pythonReference(paths: readonly string[]): Reference[] {
  const script =
    'import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom hf_reference import reference\nprint(json.dumps([reference(p) for p in sys.argv[2:]]))';
  const r = spawnSync(PYTHON, ['-c', script, TOOLS, ...paths], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${PYTHON} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Reference[];
}

/** `reference` restricted to the tensors of one shard file. */
function shardReference(ref: Reference, shard: string): Reference {
  const tensors = Object.fromEntries(Object.entries(ref.tensors).filter(([, t]) => t.shard === shard));
  return { file: shard, tensors, shared: ref.shared.filter((g) => g.every((n) => n in tensors)), metadata: {} };
}

/** Name for name: dtype, shape, SHA-256 of the elements; tied names report each other as shared. */
function expectEqualsReference(got: InspectResult, ref: Reference): void {
  expect(got.tensors.map((t) => t.name).sort()).toEqual(Object.keys(ref.tensors).sort());
  for (const t of got.tensors) {
    const want = ref.tensors[t.name]!;
    expect({ name: t.name, dtype: t.dtype, shape: t.shape, sha256: t.sha256 }).toEqual({
      name: t.name,
      dtype: want.dtype,
      shape: want.shape,
      sha256: want.sha256,
    });
    const group = ref.shared.find((g) => g.includes(t.name)) ?? [t.name];
    expect([...t.sharedWith].sort(), t.name).toEqual(group.filter((n) => n !== t.name));
  }
}

describe('Hugging Face model directories (manifest recorded from transformers 5.18 / safetensors / torch)', () => {
  it('covers GPT-2, Llama (bfloat16), BERT and T5 in four variants each, tied and untied heads', () => {
    expect(fixtures.map((f) => f.dir).sort()).toEqual(
      ['gpt2', 'llama', 'bert', 't5']
        .flatMap((m) => ['bin', 'bin-sharded', 'safetensors', 'safetensors-sharded'].map((v) => `${m}-${v}`))
        .sort(),
    );
    const dtypes = (f: Fixture): Set<string> => new Set(Object.values(f.reference.tensors).map((t) => t.dtype));
    expect(dtypes(fixtures.find((f) => f.dir === 'llama-bin')!)).toEqual(new Set(['bfloat16']));
    expect(fixtures.find((f) => f.dir === 'gpt2-bin')!.reference.shared).toEqual([
      ['lm_head.weight', 'transformer.wte.weight'],
    ]);
    expect(fixtures.find((f) => f.dir === 'llama-bin')!.reference.shared).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.dir, f] as const))(
    '%s: the directory, its index or file, and every shard alone',
    async (_, f) => {
      const dir = join(HF, f.dir);
      expectEqualsReference(await inspect(dir), f.reference);
      expectEqualsReference(await inspect(join(dir, f.reference.file)), f.reference);
      const shards = new Set(Object.values(f.reference.tensors).map((t) => t.shard));
      if (shards.size > 1)
        for (const shard of shards)
          expectEqualsReference(await inspect(join(dir, shard)), shardReference(f.reference, shard));
    },
  );

  it('open() entries and safetensors metadata are those the files hold', async () => {
    const ckpt = await open(join(HF, 'gpt2-bin'));
    expect(ckpt.format).toBe('zip');
    expect(ckpt.entry('lm_head.weight').sharedWith).toEqual(['transformer.wte.weight']);
    expect(ckpt.entry('transformer.wte.weight').sharedWith).toEqual(['lm_head.weight']);
    expect(ckpt.entry('transformer.h.0.attn.c_attn.weight').sharedWith).toEqual([]);
    await ckpt.close();
    for (const f of fixtures.filter((x) => x.variant.startsWith('safetensors'))) {
      for (const [shard, metadata] of Object.entries(f.reference.metadata)) {
        const c = await open(join(HF, f.dir, shard));
        expect(Object.fromEntries(c.container.metadata ?? []), `${f.dir}/${shard}`).toEqual(metadata);
        await c.close();
      }
    }
    const index = await open(join(HF, 'gpt2-safetensors-sharded'));
    expect(index.format).toBe('sharded');
    expect(index.names).not.toContain('lm_head.weight'); // save_pretrained writes tied names once
    await index.close();
  });

  it('load() takes a directory: bfloat16 Llama widens to float32 TF.js tensors', async () => {
    const { value, report } = await load<Map<string, { dtype: string; shape: number[] }>>(
      join(HF, 'llama-safetensors-sharded'),
      { mapLocation: 'cpu' },
    );
    const ref = fixtures.find((f) => f.dir === 'llama-safetensors-sharded')!.reference;
    expect([...value.keys()].sort()).toEqual(Object.keys(ref.tensors).sort());
    for (const [name, t] of value)
      expect([name, t.dtype, t.shape]).toEqual([name, 'float32', ref.tensors[name]!.shape]);
    expect(report.tensors.length).toBe(Object.keys(ref.tensors).length);
  });

  it('a directory chooses files in transformers order; one with none of them names what was looked for', async () => {
    const dir = tempDir();
    for (const f of ['pytorch_model.bin', 'config.json']) copyFileSync(join(HF, 'gpt2-bin', f), join(dir, f));
    expect((await inspect(dir)).format).toBe('zip');
    copyFileSync(join(HF, 'gpt2-safetensors', 'model.safetensors'), join(dir, 'model.safetensors'));
    expect((await inspect(dir)).format).toBe('safetensors');
    mkdirSync(join(dir, 'empty', 'model.safetensors'), { recursive: true }); // a directory named like the file does not count
    const e = await inspect(join(dir, 'empty')).catch((x: unknown) => x);
    expect(isCheckpointError(e) && e.code).toBe('UNSUPPORTED_FORMAT');
    expect((e as Error).message).toContain(
      'model.safetensors, model.safetensors.index.json, pytorch_model.bin, pytorch_model.bin.index.json',
    );
    expect((e as { details?: unknown }).details).toEqual({
      lookedFor: [
        'model.safetensors',
        'model.safetensors.index.json',
        'pytorch_model.bin',
        'pytorch_model.bin.index.json',
      ],
    });
  });

  it('defect (a): a sharded index whose .safetensors shard begins with byte 0x80 opens (no legacy-pickle guess)', async () => {
    const f = fixtures.find((x) => x.dir === 'gpt2-safetensors-sharded')!;
    expect(f.shards_starting_0x80.length).toBeGreaterThan(0);
    for (const shard of f.shards_starting_0x80) expect(readFileSync(join(HF, f.dir, shard))[0]).toBe(0x80);
    expectEqualsReference(await inspect(join(HF, f.dir, 'model.safetensors.index.json')), f.reference);
  });

  it('x-checkpoint inspect DIR --json (spawned bin) lists what the libraries read', () => {
    const f = fixtures.find((x) => x.dir === 't5-bin-sharded')!;
    const r = spawnSync(
      process.execPath,
      [join(import.meta.dirname, '../bin/x-checkpoint.js'), 'inspect', join(HF, f.dir), '--json'],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      tensors: { path: string[]; dtype: string; shape: number[]; sha256: string }[];
    };
    const got = Object.fromEntries(
      out.tensors.map((t) => [t.path.join('.'), { dtype: t.dtype, shape: t.shape, sha256: t.sha256 }]),
    );
    const want = Object.fromEntries(
      Object.entries(f.reference.tensors).map(([n, t]) => [n, { dtype: t.dtype, shape: t.shape, sha256: t.sha256 }]),
    );
    expect(got).toEqual(want);
  });
});

describe.skipIf(!needTorch2)('Hugging Face model directories against the real libraries, now (torch 2 venv)', () => {
  /** What we write from each sharded safetensors fixture: one file by saveSafetensors, one directory by saveSharded. */
  const written: { path: string; from: Fixture; metadata: Record<string, string> }[] = [];
  let now: Reference[];
  let ours: Reference[];
  beforeAll(async () => {
    const out = tempDir();
    for (const from of fixtures.filter((f) => f.variant === 'safetensors-sharded')) {
      const ckpt = await open(join(HF, from.dir));
      const storageBytes = (s: Parameters<typeof ckpt.storage>[0]): Promise<Uint8Array> =>
        ckpt.container.readStorage(s);
      const single = join(out, `${from.dir}.safetensors`);
      await saveSafetensors(ckpt.container.root, single, { storageBytes, metadata: { format: 'pt', from: from.dir } });
      const sharded = join(out, from.dir);
      mkdirSync(sharded);
      const r = await saveSharded(ckpt.container.root, sharded, {
        format: 'safetensors',
        maxShardSize: 4096,
        storageBytes,
      });
      await ckpt.close();
      expect(r.index).toBe('model.safetensors.index.json');
      written.push(
        { path: single, from, metadata: { format: 'pt', from: from.dir } },
        { path: sharded, from, metadata: { format: 'pt' } },
      );
    }
    const refs = pythonReference([...fixtures.map((f) => join(HF, f.dir)), ...written.map((w) => w.path)]);
    now = refs.slice(0, fixtures.length);
    ours = refs.slice(fixtures.length);
  }, 180_000);

  it('the manifest is what safetensors.torch.load_file / torch.load(weights_only=True) return from the committed files', () => {
    expect(now).toEqual(fixtures.map((f) => f.reference));
  });

  it.each(fixtures.map((f, i) => [f.dir, i] as const))('%s: inspect equals the libraries', async (dir, i) => {
    expectEqualsReference(await inspect(join(HF, dir)), now[i]!);
  });

  it('the safetensors library reads what saveSafetensors and saveSharded write, metadata included', () => {
    const strip = (ref: Reference): Record<string, unknown> =>
      Object.fromEntries(Object.entries(ref.tensors).map(([n, t]) => [n, [t.dtype, t.shape, t.sha256]]));
    for (const [k, w] of written.entries()) {
      expect(strip(ours[k]!), w.path).toEqual(strip(w.from.reference));
      const shards = new Set(Object.values(ours[k]!.tensors).map((t) => t.shard));
      expect(shards.size, w.path).toBe(w.path.endsWith('.safetensors') ? 1 : readdirSync(w.path).length - 1);
      for (const shard of shards) expect(ours[k]!.metadata[shard], `${w.path} ${shard}`).toEqual(w.metadata);
    }
  });
});

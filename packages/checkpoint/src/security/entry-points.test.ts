/**
 * The expect-rejects.ts baseline for every public entry beyond plain files: safetensors headers,
 * sharded indexes (traversal names, huge total_size, missing shards), the x-checkpoint CLI on one
 * case of every vector, platform limits on a multi-GiB source, and lying or aborted async sources.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tf from '@tensorflow/tfjs-core';
import { allVectors, hugeStorageCheckpoint, sparseFile, validCheckpoint, type HostileCase } from '@x-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { fromFile } from '../node/source.js';
import { fromUrl, type ByteSource } from '../source.js';
import { inspect, load, open } from '../node.js';
import { expectCleanMessage, expectNoPoisoning, expectRejects } from '../testing/expect-rejects.js';
import { securityRuntime } from '../testing/run-case.js';

const dir = mkdtempSync(join(tmpdir(), 'x-checkpoint-entries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const enc = new TextEncoder();

/** Every parsing entry rejects `path` with `code`. */
async function everyEntryRejects(
  source: string | Uint8Array,
  code: string,
  inputBytes: number,
  details?: Record<string, unknown>,
): Promise<void> {
  const options = { mapLocation: 'cpu', runtime: await securityRuntime() } as const;
  for (const run of [() => open(source, options), () => load(source, options), () => inspect(source, options)])
    await expectRejects(run, { code, inputBytes, details });
}

/** A safetensors file: u64 header length, the JSON header, the data. */
function safetensors(header: string, data = new Uint8Array(8), declared?: bigint): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const F32x2 = '"dtype": "F32", "shape": [2], "data_offsets": [0, 8]';

describe('safetensors headers', () => {
  const cases: [string, Uint8Array, string][] = [
    [
      'header length 2^63 (no format claims the file)',
      safetensors(`{"a": {${F32x2}}}`, undefined, 2n ** 63n),
      'UNSUPPORTED_FORMAT',
    ],
    ['header is not JSON', safetensors('{"a": {'), 'UNSUPPORTED_FORMAT'],
    [
      'data_offsets past the data',
      safetensors('{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}'),
      'INPUT_TRUNCATED',
    ],
    [
      'overlapping tensors',
      safetensors(`{"a": {${F32x2}}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}`),
      'ARCHIVE_LAYOUT',
    ],
    [
      'a hole before the first tensor',
      safetensors('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'),
      'ARCHIVE_LAYOUT',
    ],
    [
      'shape disagrees with the offsets',
      safetensors('{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}'),
      'TENSOR_GEOMETRY',
    ],
    [
      'negative shape',
      safetensors('{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}'),
      'TENSOR_GEOMETRY',
    ],
    [
      'shape 2^40 × 2^40',
      safetensors('{"a": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 8]}}'),
      'TENSOR_GEOMETRY',
    ],
    [
      'unknown dtype',
      safetensors('{"a": {"dtype": "F99", "shape": [2], "data_offsets": [0, 8]}}'),
      'TENSOR_UNSUPPORTED',
    ],
    ['__metadata__ value not a string', safetensors(`{"__metadata__": {"x": 5}, "a": {${F32x2}}}`), 'ARCHIVE_LAYOUT'],
  ];
  for (const [name, bytes, code] of cases) it(`${name}: ${code}`, () => everyEntryRejects(bytes, code, bytes.length));

  it('a tensor named __proto__ is an own entry; no prototype changes', async () => {
    const bytes = safetensors(`{"__proto__": {${F32x2}}}`, new Uint8Array(Float32Array.of(1, 2).buffer));
    const { value } = await load<Map<string, tf.Tensor>>(bytes, {
      mapLocation: 'cpu',
      runtime: await securityRuntime(),
    });
    expect([...value.keys()]).toEqual(['__proto__']);
    expect(Array.from(await value.get('__proto__')!.data())).toEqual([1, 2]);
    expectNoPoisoning();
  });
});

describe('sharded indexes', () => {
  const shardDir = join(dir, 'sharded');
  mkdirSync(shardDir);
  for (const f of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'])
    copyFileSync(join(FIXTURES, 'sharded', f), join(shardDir, f));
  const index = (
    weightMap: Record<string, string>,
    metadata: Record<string, unknown> = { total_size: 272 },
  ): string => {
    const path = join(shardDir, `${Object.keys(weightMap).length}-${Math.random().toString(36).slice(2)}.index.json`);
    writeFileSync(path, JSON.stringify({ metadata, weight_map: weightMap }));
    return path;
  };
  const good = {
    'embed.weight': 'model-00001-of-00002.safetensors',
    'head.weight': 'model-00002-of-00002.safetensors',
    'layers.0.bias': 'model-00002-of-00002.safetensors',
    'layers.0.weight': 'model-00001-of-00002.safetensors',
  };

  for (const name of [
    '../model-00001-of-00002.safetensors',
    '/etc/passwd',
    'C:\\x.safetensors',
    'a/../../b.safetensors',
    'a\\b.safetensors',
    '',
    './x.safetensors',
    'x\u0000.safetensors',
  ]) {
    it(`shard name ${JSON.stringify(name)}: ZIP_UNSAFE_NAME before any file is opened`, () =>
      everyEntryRejects(index({ ...good, 'embed.weight': name }), 'ZIP_UNSAFE_NAME', 1000));
  }

  it('a missing shard: SOURCE_IO', () =>
    everyEntryRejects(index({ ...good, 'head.weight': 'model-00003-of-00003.safetensors' }), 'SOURCE_IO', 1000));
  it('a tensor the shard does not hold: ARCHIVE_MISSING_RECORD', () =>
    everyEntryRejects(
      index({ ...good, 'extra.weight': 'model-00001-of-00002.safetensors' }),
      'ARCHIVE_MISSING_RECORD',
      1000,
    ));
  it('a shard tensor the index maps elsewhere: ARCHIVE_LAYOUT', () =>
    everyEntryRejects(index({ ...good, 'head.weight': 'model-00001-of-00002.safetensors' }), 'ARCHIVE_LAYOUT', 1000));
  it('weight_map names __proto__: ARCHIVE_MISSING_RECORD, no prototype change', async () => {
    const path = join(shardDir, 'proto.index.json');
    writeFileSync(
      path,
      `{"metadata": {}, "weight_map": {"__proto__": "model-00001-of-00002.safetensors", ${Object.entries(good)
        .map(([k, v]) => `"${k}": "${v}"`)
        .join(', ')}}}`,
    );
    await everyEntryRejects(path, 'ARCHIVE_MISSING_RECORD', 1000);
  });

  it('total_size of 10^30 is metadata only: nothing is allocated from it', async () => {
    const { value } = await load<Map<string, tf.Tensor>>(index(good, { total_size: 1e30 }), {
      mapLocation: 'cpu',
      runtime: await securityRuntime(),
    });
    expect([...value.keys()].sort()).toEqual(Object.keys(good).sort());
    expectNoPoisoning();
  });
});

describe('x-checkpoint CLI on one case of every vector', () => {
  const byVector = new Map<number, HostileCase>();
  for (const c of allVectors())
    if (c.code !== undefined && c.stage !== 'load' && c.options === undefined && !byVector.has(c.vector))
      byVector.set(c.vector, c);
  for (const c of byVector.values()) {
    it(`${c.vector} ${c.name}: inspect exits 2 with "x-checkpoint: ${c.code}: …" on stderr`, async () => {
      const path = join(dir, `cli-${c.vector}.bin`);
      writeFileSync(path, c.bytes);
      const err: string[] = [];
      const out: string[] = [];
      expect(await main(['inspect', path], { out: (t) => out.push(t), err: (t) => err.push(t) })).toBe(2);
      expect(out).toEqual([]);
      expect(err).toHaveLength(1);
      const prefix = `x-checkpoint: ${c.code}: `;
      expect(err[0]!.startsWith(prefix)).toBe(true);
      expectCleanMessage(err[0]!.slice(prefix.length), c.secret);
    });
  }
});

describe('vector 94: a 5 GiB storage (sparse source, declared sizes checked before reading)', () => {
  const five = 5 * 2 ** 30;
  const { size, chunks } = hugeStorageCheckpoint(five);
  /** The sparse file, recording every read. */
  const source = (): ByteSource & { reads: [number, number][] } => {
    const file = sparseFile(size, chunks);
    const reads: [number, number][] = [];
    return {
      size: file.size,
      name: file.name,
      reads,
      read: (offset, length) => (reads.push([offset, length]), file.read(offset, length)),
    };
  };

  it('open lists it without reading its data', async () => {
    const s = source();
    const ckpt = await open(s);
    expect(ckpt.entries.map((e) => [e.name, e.dtype, e.shape, e.byteLength])).toEqual([
      ['huge', 'uint8', [five], five],
    ]);
    await ckpt.close();
    expect(Math.max(...s.reads.map(([, length]) => length))).toBeLessThan(2 ** 20);
  });

  for (const maxTensorBytes of [undefined, Number.POSITIVE_INFINITY]) {
    it(`load, tensor() and inspect refuse it with TENSOR_TOO_LARGE before reading it (maxTensorBytes ${maxTensorBytes ?? 'default'})`, async () => {
      const options = {
        mapLocation: 'cpu',
        runtime: await securityRuntime(),
        limits: maxTensorBytes === undefined ? {} : { maxTensorBytes },
      } as const;
      const s = source();
      const details = { limit: 'maxTensorBytes', max: 2 ** 32 };
      await expectRejects(() => load(s, options), { code: 'TENSOR_TOO_LARGE', inputBytes: 0, details });
      await expectRejects(async () => (await open(s, options)).tensor('huge'), {
        code: 'TENSOR_TOO_LARGE',
        inputBytes: 0,
        details,
      });
      await expectRejects(() => inspect(s, options), { code: 'TENSOR_TOO_LARGE', inputBytes: 0, details });
      expect(Math.max(...s.reads.map(([, length]) => length))).toBeLessThan(2 ** 20);
    });
  }
});

describe('lying and aborted async sources', () => {
  const { zip } = validCheckpoint();
  const bytes = zip.bytes;

  it('a Blob that declares more bytes than it delivers: INPUT_TRUNCATED', async () => {
    class LyingBlob extends Blob {
      override get size(): number {
        return super.size + 100;
      }
    }
    await everyEntryRejects(
      new LyingBlob([bytes as Uint8Array<ArrayBuffer>]) as unknown as Uint8Array,
      'INPUT_TRUNCATED',
      bytes.length,
    );
  });

  it('a file truncated while open: INPUT_TRUNCATED when the tensor is read', async () => {
    const path = join(dir, 'shrinking.pt');
    writeFileSync(path, bytes);
    const ckpt = await open(await fromFile(path), { mapLocation: 'cpu', runtime: await securityRuntime() });
    truncateSync(path, zip.entries.find((e) => e.name === 'archive/data/0')!.dataOffset + 4); // inside the weight's record
    await expectRejects(() => ckpt.tensor('weight'), { code: 'INPUT_TRUNCATED', inputBytes: bytes.length });
    await ckpt.close();
  });

  it('an AbortSignal fired after opening stops the next read with SOURCE_IO', async () => {
    const controller = new AbortController();
    const served = (init?: RequestInit): Response => {
      const range = /bytes=(\d+)-(\d+)/.exec(
        String((init?.headers as Record<string, string> | undefined)?.Range ?? ''),
      );
      const [from, to] = range === null ? [0, bytes.length - 1] : [Number(range[1]), Number(range[2])];
      return new Response(bytes.slice(from, to + 1), {
        status: 206,
        headers: { 'content-range': `bytes ${from}-${to}/${bytes.length}` },
      });
    };
    const fakeFetch = (async (_url: unknown, init?: RequestInit) => {
      if (init?.signal?.aborted === true) throw new DOMException('The operation was aborted', 'AbortError');
      return served(init);
    }) as typeof fetch;
    const source = await fromUrl('https://example.invalid/model.pt', { fetch: fakeFetch, signal: controller.signal });
    const ckpt = await open(source, { mapLocation: 'cpu', runtime: await securityRuntime() });
    controller.abort();
    await expectRejects(() => ckpt.tensor('weight'), { code: 'SOURCE_IO', inputBytes: bytes.length });
    await ckpt.close();
  });
});

/**
 * Test-only helpers: the fixture manifest written by real PyTorch (tools/fixtures), opening a
 * fixture, and checking a container's tensors and values against it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dtypeInfo, type TorchDType } from '@x/device';
import { expect } from 'vitest';
import type { PathKey } from '../formats/container.js';
import { gather } from '../tensors/materialise.js';
import { elementsPerByte, packedBytes } from '../pickle/packed-quantized.js';
import { Layout, type CompressedLayout, type SparseTensorRef } from '../pickle/tensor-refs.js';
import { numpyInfo } from '../pickle/numpy.js';
import { fromBytes } from '../source.js';
import { DType, isFloat, OrderedDict, Tuple, type StorageRef, type TensorRef } from '../pickle/values.js';
import { openContainer } from '../formats/detect.js';
import type { FormatContainer, OpenOptions } from '../formats/format-reader.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures');

export interface ManifestTensor {
  path: PathKey[];
  dtype: TorchDType;
  shape: number[];
  stride?: number[];
  offset?: number;
  location: string;
  sha256: string | null;
  storage?: { key: string; numel: number };
  requires_grad: boolean;
  parameter: boolean;
  shard?: string;
  layout?: string;
  indices?: { dtype: TorchDType; shape: number[]; sha256: string };
  values?: { dtype: TorchDType; shape: number[]; sha256: string };
  /** Compressed sparse layouts: sha256 of `crow_indices()`/`ccol_indices()` and of `col_indices()`/`row_indices()`. */
  compressed_indices?: string;
  plain_indices?: string;
}

export interface Fixture {
  file: string;
  format: string;
  tensors: ManifestTensor[];
  values?: Record<string, unknown>;
  error?: { code: string; global: string };
  /** The start of the message torch 1.13's `torch.load` fails with, for fixtures it refuses. */
  torch_error?: string;
  byteorder?: string;
  /** The version of the torch that wrote (or, for synthesized files, checked) the file. */
  torch: string;
  roundtrip: boolean;
  synthesized: boolean;
  /** Packed quantized tensors: what torch's `dequantize()` returns, by top-level key. */
  dequantized?: Record<string, number[]>;
}

/** Where each torch version's fixture set lives under {@link FIXTURES} (each set has its own manifest.json). */
export const FIXTURE_SETS = { '1.13': '', '2.13': 'torch2/' } as const;

function readManifest(dir: string): Fixture[] {
  const doc = JSON.parse(readFileSync(join(FIXTURES, dir, 'manifest.json'), 'utf8')) as { fixtures: Fixture[] };
  return doc.fixtures.map((f) => ({ ...f, file: dir + f.file }));
}

/** Both fixture sets: files written by torch 1.13, then those written by torch 2.13 (`file` under `torch2/`). */
export const MANIFEST = { fixtures: Object.values(FIXTURE_SETS).flatMap(readManifest) };

/** The path of a fixture file. */
export function fixturePath(file: string): string {
  return join(FIXTURES, file);
}

/** The manifest record of a fixture file; fails the test when the manifest has none. */
export function manifestFixture(file: string): Fixture {
  const found = MANIFEST.fixtures.find((f) => f.file === file);
  if (found === undefined) throw new Error(`manifest.json has no fixture ${file}`);
  return found;
}

export function fixtureBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, file)));
}

/** Opens a fixture from memory; siblings (shards) resolve in its directory. */
export function openFixture(file: string, options: OpenOptions = {}): Promise<FormatContainer> {
  const dir = dirname(join(FIXTURES, file));
  return openContainer(fromBytes(fixtureBytes(file), file), {
    ...options,
    resolve: async (name) => fromBytes(new Uint8Array(readFileSync(join(dir, name))), name),
  });
}

/** One strided tensor of a container: a plain tensor, or a component of a quantized or sparse one. */
export interface StridedPart {
  readonly path: readonly PathKey[];
  readonly name: string;
  readonly ref: TensorRef;
}

/**
 * The strided tensors of `c` in entry order: a quantized tensor's integer data at its own path
 * (per-channel scales and zero points at `…scales`, `…zero_points`), a sparse tensor's components
 * at `…indices`, `…values` or `…compressed_indices`, `…plain_indices`, `…values`; meta and inline
 * tensors have none.
 */
export function strided(c: FormatContainer): StridedPart[] {
  return c.entries.flatMap(({ path, ref }) => {
    const parts: [PathKey | undefined, TensorRef][] = [];
    if (!('kind' in ref)) parts.push([undefined, ref]);
    else if (ref.kind === 'quantized') {
      parts.push([undefined, ref.data]);
      if ('scales' in ref.quantizer)
        parts.push(['scales', ref.quantizer.scales], ['zero_points', ref.quantizer.zeroPoints]);
    } else if (ref.kind === 'sparse') {
      if (ref.layout === 'sparse_coo') parts.push(['indices', ref.indices], ['values', ref.values]);
      else
        parts.push(
          ['compressed_indices', ref.compressedIndices],
          ['plain_indices', ref.plainIndices],
          ['values', ref.values],
        );
    }
    return parts.map(([suffix, part]) => {
      const at = suffix === undefined ? path : [...path, suffix];
      return { path: at, name: at.join('.'), ref: part };
    });
  });
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The elements of `entry` in C order, gathered from its storage's bytes. */
export async function elements(c: FormatContainer, entry: StridedPart): Promise<Uint8Array> {
  const bytes = await c.readStorage(entry.ref.storage);
  if (elementsPerByte(entry.ref.dtype) > 1) return packedBytes(bytes, entry.ref, entry.name);
  return gather(bytes, entry.ref, dtypeInfo(entry.ref.dtype).itemSize);
}

function samePath(a: readonly PathKey[], b: readonly PathKey[]): boolean {
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

export function entryAt(c: FormatContainer, path: readonly PathKey[]): StridedPart {
  const found = strided(c).find((t) => samePath(t.path, path));
  expect(found, `tensor at ${JSON.stringify(path)}`).toBeDefined();
  return found!;
}

/** The value at `path` in the object graph (Map keys, array indices). */
export function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  return path.reduce<unknown>(
    (v, k) => (v instanceof Map ? v.get(k) : Array.isArray(v) ? v[k as number] : undefined),
    root,
  );
}

/**
 * Checks every manifest tensor: dtype, shape, stride, offset, location, requires_grad, parameter,
 * storage key/numel and sharing, and the sha256 of its gathered elements.
 */
export async function checkTensors(c: FormatContainer, fx: Fixture): Promise<void> {
  const byKey = new Map<string, StorageRef>();
  for (const t of fx.tensors) {
    const label = `${fx.file} ${JSON.stringify(t.path)}`;
    if (t.layout === 'sparse_coo') {
      for (const part of ['indices', 'values'] as const) {
        const e = entryAt(c, [...t.path, part]);
        expect([e.ref.dtype, e.ref.shape], `${label} ${part}`).toEqual([t[part]!.dtype, t[part]!.shape]);
        expect(sha256(await elements(c, e)), `${label} ${part}`).toBe(t[part]!.sha256);
      }
      continue;
    }
    if (t.compressed_indices !== undefined) {
      const ref = valueAt(c.root, t.path) as SparseTensorRef & { layout: CompressedLayout };
      expect([ref.layout, ref.shape], label).toEqual([t.layout, t.shape]);
      expect(sha256(await elements(c, entryAt(c, [...t.path, 'compressed_indices']))), label).toBe(
        t.compressed_indices,
      );
      expect(sha256(await elements(c, entryAt(c, [...t.path, 'plain_indices']))), label).toBe(t.plain_indices);
      expect(sha256(await elements(c, entryAt(c, [...t.path, 'values']))), label).toBe(t.values!.sha256);
      continue;
    }
    if (t.sha256 === null) {
      const meta = valueAt(c.root, t.path) as { kind: string; dtype: string; shape: number[]; stride: number[] };
      expect(meta.kind, label).toBe('meta');
      expect([meta.dtype, meta.shape, meta.stride], label).toEqual([t.dtype, t.shape, t.stride]);
      expect(
        strided(c).some((e) => samePath(e.path, t.path)),
        label,
      ).toBe(false);
      continue;
    }
    const e = entryAt(c, t.path);
    expect(e.name, label).toBe(t.path.join('.'));
    const r = e.ref;
    expect(
      {
        dtype: r.dtype,
        shape: r.shape,
        stride: r.stride,
        offset: r.offset,
        location: r.storage.location,
        requires_grad: r.requiresGrad,
        parameter: r.parameter,
      },
      label,
    ).toEqual({
      dtype: t.dtype,
      shape: t.shape,
      stride: t.stride,
      offset: t.offset,
      location: t.location,
      requires_grad: t.requires_grad,
      parameter: t.parameter,
    });
    if (t.storage !== undefined) {
      expect([r.storage.key, r.storage.numel], label).toEqual([t.storage.key, t.storage.numel]);
      const sharingKey = `${t.shard ?? ''}/${t.storage.key}`;
      const first = byKey.get(sharingKey);
      if (first === undefined) byKey.set(sharingKey, r.storage);
      // a zero-byte storage keeps one ref per dtype it is viewed as (pickle/storage.ts)
      else if (r.storage.byteLength > 0) expect(r.storage, `${label} shares storage ${t.storage.key}`).toBe(first);
    }
    if (r.storage.byteLength === 0) expect(c.storages.map((s) => s.key)).toContain(r.storage.key);
    else expect(c.storages).toContain(r.storage);
    expect(sha256(await elements(c, e)), label).toBe(t.sha256);
  }
  expect(new Set(byKey.values()).size).toBe(byKey.size);
}

const NUMPY_ARRAYS: Partial<Record<string, new (n: number) => ArrayLike<number>>> = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array as never,
  int32: Int32Array,
};

/** Checks `actual` (held at `slot` of `holder`) against a tagged-JSON manifest value. */
export function checkValue(
  c: FormatContainer,
  actual: unknown,
  expected: unknown,
  holder: object | undefined,
  slot: unknown,
  at: string,
): void {
  if (expected === null || typeof expected === 'boolean' || typeof expected === 'string') {
    expect(actual, at).toBe(expected);
    return;
  }
  if (typeof expected === 'number') {
    expect(actual, at).toBe(expected);
    if (holder !== undefined) expect(isFloat(holder, slot), `${at} is an int`).toBe(false);
    return;
  }
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual) && !(actual instanceof Tuple), `${at} is a list`).toBe(true);
    const list = actual as unknown[];
    expect(list.length, at).toBe(expected.length);
    for (const [i, x] of expected.entries()) checkValue(c, list[i], x, list, i, `${at}[${i}]`);
    return;
  }
  const [tag, body] = Object.entries(expected as Record<string, unknown>)[0]!;
  switch (tag) {
    case '$int':
      expect(actual, at).toBe(BigInt(body as string));
      return;
    case '$float': {
      const want =
        body === 'nan' ? Number.NaN : body === 'inf' ? Infinity : body === '-inf' ? -Infinity : (body as number);
      expect(actual, at).toBe(want);
      if (holder !== undefined && Number.isInteger(want))
        expect(isFloat(holder, slot), `${at} is marked float`).toBe(true);
      return;
    }
    case '$bytes':
      expect(actual, at).toEqual(Uint8Array.from(Buffer.from(body as string, 'hex')));
      return;
    case '$tuple': {
      expect(actual, at).toBeInstanceOf(Tuple);
      const items = body as unknown[];
      expect((actual as unknown[]).length, at).toBe(items.length);
      for (const [i, x] of items.entries())
        checkValue(c, (actual as unknown[])[i], x, actual as object, i, `${at}[${i}]`);
      return;
    }
    case '$dict':
    case '$odict': {
      expect(actual, at).toBeInstanceOf(tag === '$odict' ? OrderedDict : Map);
      if (tag === '$dict') expect(actual instanceof OrderedDict, `${at} is a plain dict`).toBe(false);
      const entries = [...(actual as Map<unknown, unknown>)];
      const want = body as [unknown, unknown][];
      expect(entries.length, at).toBe(want.length);
      want.forEach(([k, v], i) => {
        const [ak, av] = entries[i]!;
        checkValue(c, ak, k, undefined, undefined, `${at} key ${i}`);
        checkValue(c, av, v, actual as object, ak, `${at}[${JSON.stringify(k)}]`);
      });
      const md = (expected as Record<string, unknown>)._metadata;
      if (md !== undefined)
        checkValue(c, (actual as OrderedDict).metadata, md, undefined, undefined, `${at}._metadata`);
      return;
    }
    case '$tensor':
      expect(actual, at).toBe(entryAt(c, body as PathKey[]).ref);
      return;
    case '$size':
      expect(actual, at).toBeInstanceOf(Tuple);
      expect([...(actual as number[])], at).toEqual(body);
      return;
    case '$dtype':
      expect(actual, at).toBeInstanceOf(DType);
      expect((actual as DType).name, at).toBe(body);
      return;
    case '$device':
      expect(String(actual), at).toBe(body);
      return;
    case '$layout':
      expect(actual, at).toBeInstanceOf(Layout);
      expect((actual as Layout).name, at).toBe(body);
      return;
    case '$ndarray': {
      const { dtype, shape, data } = body as { dtype: string; shape: number[]; data: number[] };
      expect(actual, at).toBeInstanceOf(NUMPY_ARRAYS[dtype]!);
      expect(numpyInfo(actual)?.shape, at).toEqual(shape);
      expect(Array.from(actual as ArrayLike<number>), at).toEqual(data);
      return;
    }
    case '$npscalar':
      checkValue(c, actual, (body as { value: unknown }).value, undefined, undefined, at);
      return;
    default:
      throw new Error(`unknown manifest tag ${tag} at ${at}`);
  }
}

/**
 * Finds the tensors of an object graph: every strided {@link TensorRef} leaf with its path from
 * the root, in depth-first (pickling) order, and every distinct storage in order of first
 * reference. Quantized, sparse and meta tensors are described by their component refs.
 *
 * @module
 */
import type { PathKey, TensorEntry } from '../container.js';
import { checkBound, type Limits } from '../limits.js';
import { isTensorRef } from '../tensor-refs.js';
import { PyObject, Tuple, type StorageRef, type TensorRef } from '../values.js';

/**
 * What {@link collectTensors} finds.
 *
 * @example
 * ```ts
 * const { tensors, storages }: Collected = collectTensors(root, limits);
 * ```
 */
export interface Collected {
  readonly tensors: readonly TensorEntry[];
  readonly storages: readonly StorageRef[];
}

type Frame = { readonly value: unknown; readonly path: readonly PathKey[] } | { readonly leave: object; readonly found: number; readonly cuts: number };

/**
 * Walks `root` iteratively. Steps: `Map` keys (non-string, non-number keys as their Python repr,
 * e.g. `(2, 3)`), array / tuple / set indices, a `PyObject`'s `__dict__` state keys (as
 * `torch.save(model)` paths read: `_modules.fc._parameters.weight`), its constructor arguments
 * under `__args__` and appended items under `__items__`. A quantized tensor's integer data is
 * listed at the tensor's own path (per-channel scales and zero points at `…scales` and
 * `…zero_points`); a sparse tensor's components at `…indices`, `…values` (COO) or
 * `…compressed_indices`, `…plain_indices`, `…values`. Meta and inline tensors have no storage and
 * are not listed. Shared containers are walked once per path, except that one found to hold no
 * tensor (and no cycle) is not walked again, so memo-shared DAGs cost their distinct nodes;
 * cycles are not followed; more than `maxNodes` visits (each listed path counting its length) fail
 * with `PICKLE_LIMIT`.
 *
 * @example
 * ```ts
 * const { tensors } = collectTensors(stateDict, limits);
 * tensors.map((t) => t.name); // ['0.weight', '0.bias', …]
 * ```
 */
export function collectTensors(root: unknown, limits: Limits): Collected {
  const tensors: TensorEntry[] = [];
  const storages = new Set<StorageRef>();
  const ancestors = new Set<object>();
  const tensorFree = new WeakSet<object>();
  const stack: Frame[] = [{ value: root, path: [] }];
  let visits = 0;
  let cuts = 0;
  const add = (ref: TensorRef, path: readonly PathKey[]): void => {
    visits += path.length; // a listed path is held in memory: its steps count as visits
    checkBound(visits, limits.maxNodes, 'maxNodes', 'objects visited while listing tensors');
    tensors.push(Object.freeze({ path, name: path.join('.'), ref }));
    storages.add(ref.storage);
  };
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      ancestors.delete(frame.leave);
      if (tensors.length === frame.found && cuts === frame.cuts) tensorFree.add(frame.leave);
      continue;
    }
    checkBound(++visits, limits.maxNodes, 'maxNodes', 'objects visited while listing tensors');
    const { value, path } = frame;
    if (typeof value !== 'object' || value === null || tensorFree.has(value)) continue;
    if (ancestors.has(value)) {
      cuts++;
      continue;
    }
    if (isTensorRef(value)) {
      add(value, path);
      continue;
    }
    const parts = componentTensors(value);
    if (parts !== undefined) {
      for (const [suffix, ref] of parts) add(ref, suffix === undefined ? path : [...path, suffix]);
      continue;
    }
    const children = childrenOf(value);
    if (children.length === 0) continue;
    ancestors.add(value);
    stack.push({ leave: value, found: tensors.length, cuts });
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i]!;
      stack.push({ value: child, path: key === undefined ? path : [...path, key] });
    }
  }
  return { tensors, storages: [...storages] };
}

/** The strided parts of a quantized or sparse tensor, or `undefined` for anything else. */
function componentTensors(value: object): [PathKey | undefined, TensorRef][] | undefined {
  const v = value as Record<string, unknown>;
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  if (v.kind === 'quantized' && isTensorRef(v.data)) {
    const q = v.quantizer as Record<string, unknown>;
    const parts: [PathKey | undefined, TensorRef][] = [[undefined, v.data]];
    if (isTensorRef(q.scales) && isTensorRef(q.zeroPoints)) parts.push(['scales', q.scales], ['zero_points', q.zeroPoints]);
    return parts;
  }
  if (v.kind === 'sparse') {
    const names = v.layout === 'sparse_coo' ? (['indices', 'values'] as const) : (['compressedIndices', 'plainIndices', 'values'] as const);
    const keys = { indices: 'indices', values: 'values', compressedIndices: 'compressed_indices', plainIndices: 'plain_indices' } as const;
    return names.flatMap((n) => (isTensorRef(v[n]) ? [[keys[n], v[n]] as [PathKey, TensorRef]] : []));
  }
  if (v.kind === 'meta' || v.kind === 'inline') return [];
  return undefined;
}

function childrenOf(value: object): [PathKey | undefined, unknown][] {
  if (value instanceof Map) return [...value].map(([k, v]) => [pathKey(k), v]);
  if (Array.isArray(value)) return value.map((v, i) => [i, v]);
  if (value instanceof Set) return [...value].map((v, i) => [i, v]);
  if (value instanceof PyObject) {
    const out: [PathKey | undefined, unknown][] = [];
    if (value.state instanceof Map) out.push(...childrenOf(value.state));
    else if (value.state !== undefined) out.push([undefined, value.state]);
    if (value.args !== undefined && value.args.length > 0) out.push(['__args__', value.args]);
    if (value.items.length > 0) out.push(['__items__', value.items]);
    return out;
  }
  return [];
}

function pathKey(key: unknown): PathKey {
  return typeof key === 'string' || typeof key === 'number' ? key : repr(key);
}

/** A short Python-style repr of a dict key for paths (`(2, 3)`, `True`, `None`, `12345678901234567890`). */
function repr(key: unknown): string {
  if (key === null) return 'None';
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  if (typeof key === 'bigint' || typeof key === 'number') return String(key);
  if (typeof key === 'string') return JSON.stringify(key);
  if (key instanceof Tuple) return key.length === 1 ? `(${repr(key[0])},)` : `(${key.map(repr).join(', ')})`;
  return `<${typeof key === 'object' ? (key.constructor?.name ?? 'object') : typeof key}>`;
}

/**
 * Finds the tensors of an object graph: every strided {@link TensorRef} leaf with its path from
 * the root, in depth-first (pickling) order, and every distinct storage in order of first
 * reference. Quantized, sparse and meta tensors are described by their component refs.
 *
 * @module
 */
import type { PathKey, TensorEntry } from '../container.js';
import type { Limits } from '../limits.js';
import { isTensorRef } from '../tensor-refs.js';
import { walkGraph } from '../tensor-leaves.js';
import type { StorageRef, TensorRef } from '../values.js';

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

/**
 * Walks `root` with the steps of {@link walkGraph} (`Map` keys that are not strings or numbers
 * as their Python repr, e.g. `(2, 3)`; `PyObject` state keys, `__args__`, `__items__`). A
 * quantized tensor's integer data is listed at the tensor's own path (per-channel scales and zero
 * points at `…scales` and `…zero_points`); a sparse tensor's components at `…indices`, `…values`
 * (COO) or `…compressed_indices`, `…plain_indices`, `…values`. Meta and inline tensors have no
 * storage and are not listed, so a container holding only those counts as tensor-free. More than
 * `maxNodes` visits (each listed path counting its length) fail with `PICKLE_LIMIT`.
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
  walkGraph(root, limits, (value, path, _slot, list) => {
    const parts = isTensorRef(value) ? [[undefined, value] as const] : componentTensors(value);
    if (parts === undefined) return false;
    for (const [suffix, ref] of parts) {
      const at = suffix === undefined ? path : [...path, suffix];
      list(at);
      tensors.push(Object.freeze({ path: at, name: at.join('.'), ref }));
      storages.add(ref.storage);
    }
    return true;
  });
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

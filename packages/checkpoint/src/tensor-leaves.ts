/**
 * The walk of an object graph that finds its tensors (the path, repr and child rules every tensor
 * list shares) and the tensor leaves it finds, whatever their kind (strided, quantized, sparse,
 * meta, inline), each with its path and the slot that holds it, so that a loader can list them by
 * name and replace them in place with tensors.
 *
 * @module
 */
import type { PathKey } from './container.js';
import { checkBound, type Limits } from './limits.js';
import type { AnyTensorRef } from './materialise.js';
import { isTensorRef } from './tensor-refs.js';
import { PyObject, Tuple } from './values.js';

/** One tensor leaf: where it is and how to replace it. */
export interface TensorLeaf {
  /** Dict keys and list indices from the root (the same steps as the container's tensor list). */
  readonly path: readonly PathKey[];
  /** `path` joined with `.`. */
  readonly name: string;
  readonly ref: AnyTensorRef;
  /** Puts `value` where the leaf was (`undefined` for the root itself). */
  readonly replace: Slot | undefined;
}

/**
 * Puts a value where a walked one was (`undefined` for the root and for constructor arguments and
 * appended items, which are not replaced).
 *
 * @example
 * ```ts
 * const slot: Slot = (x) => (list[0] = x);
 * ```
 */
export type Slot = (value: unknown) => void;

/**
 * What {@link walkGraph} asks at each object it reaches: whether `value` is a leaf. A leaf calls
 * `list` once for each entry it records there (which counts that entry's path against `maxNodes`)
 * and is not walked into; for anything else the visitor returns `false` and the walk goes on into
 * its children.
 *
 * @example
 * ```ts
 * const visit: LeafVisitor = (value, path, _slot, list) => isTensorRef(value) && (list(path), true);
 * ```
 */
export type LeafVisitor = (value: object, path: readonly PathKey[], slot: Slot | undefined, list: (path: readonly PathKey[]) => void) => boolean;

type Frame = { readonly value: unknown; readonly path: readonly PathKey[]; readonly slot: Slot | undefined } | { readonly leave: object; readonly found: number; readonly cuts: number };
type Child = [key: PathKey | undefined, value: unknown, slot: Slot | undefined];

const KINDS: ReadonlySet<unknown> = new Set(['quantized', 'sparse', 'meta', 'inline']);

/**
 * Whether `value` is a tensor description of any kind (a plain object: pickles cannot create one,
 * only the rebuild functions do).
 *
 * @example
 * ```ts
 * isTensorLeaf({ kind: 'meta', dtype: 'float32', shape: [2], stride: [1], requiresGrad: false }); // true
 * ```
 */
export function isTensorLeaf(value: unknown): value is AnyTensorRef {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return isTensorRef(value) || KINDS.has((value as { kind?: unknown }).kind);
}

/**
 * Walks `root` iteratively in depth-first (pickling) order, asking `visit` at each object whether
 * it is a leaf. Steps: `Map` values (keys that are not strings or numbers written as their Python
 * repr, e.g. `(2, 3)`), array / tuple / set indices, a `PyObject`'s `__dict__` state keys (as
 * `torch.save(model)` paths read: `_modules.fc._parameters.weight`), its constructor arguments
 * under `__args__` and appended items under `__items__`. A leaf reached by two paths is visited
 * twice; a container found to hold no listed entry (and no cycle) is not walked again, so
 * memo-shared DAGs cost their distinct nodes; cycles are not followed; more than `maxNodes` visits
 * (each listed path counting its length) fail with `PICKLE_LIMIT`.
 *
 * @example
 * ```ts
 * const names: string[] = [];
 * walkGraph(root, limits, (value, path, _slot, list) => isTensorRef(value) && (list(path), names.push(path.join('.')), true));
 * ```
 */
export function walkGraph(root: unknown, limits: Limits, visit: LeafVisitor): void {
  const ancestors = new Set<object>();
  const leafFree = new WeakSet<object>();
  const stack: Frame[] = [{ value: root, path: [], slot: undefined }];
  let visits = 0;
  let cuts = 0;
  let listed = 0;
  const list = (path: readonly PathKey[]): void => {
    visits += path.length; // a listed path is held in memory: its steps count as visits
    checkBound(visits, limits.maxNodes, 'maxNodes', 'objects visited while listing tensors');
    listed++;
  };
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      ancestors.delete(frame.leave);
      if (listed === frame.found && cuts === frame.cuts) leafFree.add(frame.leave);
      continue;
    }
    checkBound(++visits, limits.maxNodes, 'maxNodes', 'objects visited while listing tensors');
    const { value, path } = frame;
    if (typeof value !== 'object' || value === null || leafFree.has(value)) continue;
    if (ancestors.has(value)) {
      cuts++;
      continue;
    }
    if (visit(value, path, frame.slot, list)) continue;
    const children = childrenOf(value);
    if (children.length === 0) continue;
    ancestors.add(value);
    stack.push({ leave: value, found: listed, cuts });
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child, slot] = children[i]!;
      stack.push({ value: child, path: key === undefined ? path : [...path, key], slot });
    }
  }
}

/**
 * Every tensor leaf of `root` ({@link isTensorLeaf}) in depth-first (pickling) order, with the
 * steps of {@link walkGraph}. A leaf reached by two paths is listed twice (same `ref`).
 *
 * @example
 * ```ts
 * for (const leaf of tensorLeaves(container.root, limits)) console.log(leaf.name, leaf.ref);
 * ```
 */
export function tensorLeaves(root: unknown, limits: Limits): TensorLeaf[] {
  const out: TensorLeaf[] = [];
  walkGraph(root, limits, (value, path, slot, list) => {
    if (!isTensorLeaf(value)) return false;
    list(path);
    out.push(Object.freeze({ path, name: path.join('.'), ref: value, replace: slot }));
    return true;
  });
  return out;
}

function childrenOf(value: object): Child[] {
  if (value instanceof Map) return [...value].map(([k, v]): Child => [pathKey(k), v, (x) => value.set(k, x)]);
  if (Array.isArray(value)) return value.map((v, i): Child => [i, v, (x) => (value[i] = x)]);
  if (value instanceof Set) return [...value].map((v, i): Child => [i, v, (x) => replaceInSet(value, v, x)]);
  if (value instanceof PyObject) {
    const out: Child[] = [];
    if (value.state instanceof Map) out.push(...childrenOf(value.state));
    else if (value.state !== undefined) out.push([undefined, value.state, (x) => (value.state = x)]);
    if (value.args !== undefined && value.args.length > 0) out.push(['__args__', value.args, undefined]);
    if (value.items.length > 0) out.push(['__items__', value.items, undefined]);
    return out;
  }
  return [];
}

/** Replaces one member of a Set, keeping the order of the others. */
function replaceInSet(set: Set<unknown>, old: unknown, value: unknown): void {
  const items = [...set];
  set.clear();
  for (const item of items) set.add(item === old ? value : item);
}

function pathKey(key: unknown): PathKey {
  return typeof key === 'string' || typeof key === 'number' ? key : repr(key);
}

/** A short Python-style repr of a dict key (`(2, 3)`, `True`, `None`, `12345678901234567890`). */
function repr(key: unknown): string {
  if (key === null) return 'None';
  if (typeof key === 'boolean') return key ? 'True' : 'False';
  if (typeof key === 'bigint' || typeof key === 'number') return String(key);
  if (typeof key === 'string') return JSON.stringify(key);
  if (key instanceof Tuple) return key.length === 1 ? `(${repr(key[0])},)` : `(${key.map(repr).join(', ')})`;
  return `<${typeof key === 'object' ? (key.constructor?.name ?? 'object') : typeof key}>`;
}

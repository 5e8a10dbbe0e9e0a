/**
 * The one walk of an object graph that finds its tensors, whatever their kind (strided, quantized,
 * sparse, meta, inline), and describes each as a {@link CheckpointEntry}; the slot holding each
 * is kept (see {@link slotOf}) so that a loader can replace it in place with a tensor.
 *
 * @module
 */
import { dtypeInfo, type TorchDType } from '@x/device';
import type { CheckpointEntry, PathKey } from './container.js';
import { checkBound, type Limits } from './limits.js';
import { describeRef, numel, primaryStorage, storagesOf, type AnyTensorRef } from './materialise.js';
import { isTensorRef } from './tensor-refs.js';
import { PyObject, Tuple, type StorageRef } from './values.js';

/**
 * Puts a value where a walked one was (`undefined` for the root and for constructor arguments and
 * appended items, which are not replaced).
 *
 * @example
 * ```ts
 * const slot: Slot = (x) => (list[0] = x);
 * ```
 */
type Slot = (value: unknown) => void;

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
type LeafVisitor = (value: object, path: readonly PathKey[], slot: Slot | undefined, list: (path: readonly PathKey[]) => void) => boolean;

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
function isTensorLeaf(value: unknown): value is AnyTensorRef {
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
function walkGraph(root: unknown, limits: Limits, visit: LeafVisitor): void {
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

/** The tensors of an object graph, as {@link describeTensors} finds them. */
export interface DescribedTensors {
  /** Every tensor leaf in depth-first (pickling) order; a leaf reached by two paths is listed twice (same `ref`). */
  readonly entries: readonly CheckpointEntry[];
  /** Every distinct storage the entries use, in order of first reference. */
  readonly storages: readonly StorageRef[];
}

const slots = new WeakMap<CheckpointEntry, Slot>();

/**
 * Walks `root` once with the steps of {@link walkGraph} and describes every tensor leaf
 * ({@link isTensorLeaf}): its kind, dtype, shape, saved location, size and the other entries
 * sharing one of its storages.
 *
 * @example
 * ```ts
 * const { entries, storages } = describeTensors(container.root, limits);
 * entries.map((e) => e.name); // ['0.weight', '0.bias', …]
 * ```
 */
export function describeTensors(root: unknown, limits: Limits): DescribedTensors {
  const leaves: { path: readonly PathKey[]; name: string; ref: AnyTensorRef; slot: Slot | undefined; storages: StorageRef[] }[] = [];
  const viewers = new Map<StorageRef, string[]>();
  walkGraph(root, limits, (value, path, slot, list) => {
    if (!isTensorLeaf(value)) return false;
    list(path);
    const name = path.join('.');
    const storages = storagesOf(value);
    for (const s of storages) {
      const names = viewers.get(s);
      if (names === undefined) viewers.set(s, [name]);
      else if (names.at(-1) !== name) names.push(name);
    }
    leaves.push({ path, name, ref: value, slot, storages });
    return true;
  });
  const entries = leaves.map(({ path, name, ref, slot, storages }) => {
    const shared = new Set<string>();
    for (const s of storages) for (const n of viewers.get(s)!) if (n !== name) shared.add(n);
    const entry = describeEntry(path, name, ref, Object.freeze([...shared]));
    if (slot !== undefined) slots.set(entry, slot);
    return entry;
  });
  return { entries, storages: [...viewers.keys()] };
}

/**
 * Puts `value` where `entry`'s tensor was in the graph it was described from; `false` when the
 * entry is the root itself (nothing holds it).
 *
 * @example
 * ```ts
 * let value = container.root;
 * for (const e of entries) if (!replaceEntry(e, tensors.get(e.ref))) value = tensors.get(e.ref);
 * ```
 */
export function replaceEntry(entry: CheckpointEntry, value: unknown): boolean {
  const slot = slots.get(entry);
  slot?.(value);
  return slot !== undefined;
}

function describeEntry(path: readonly PathKey[], name: string, ref: AnyTensorRef, sharedWith: readonly string[]): CheckpointEntry {
  const { dtype, shape } = describeRef(ref);
  const kind = 'kind' in ref ? ref.kind : 'strided';
  const bytesOf = (d: TorchDType, s: readonly number[]): number => numel(s) * dtypeInfo(d).itemSize;
  let byteLength: number;
  if (!('kind' in ref)) byteLength = bytesOf(ref.dtype, ref.shape);
  else if (ref.kind === 'quantized') byteLength = bytesOf(ref.data.dtype, ref.data.shape);
  else if (ref.kind === 'sparse') byteLength = storagesOf(ref).reduce((sum, s) => sum + s.byteLength, 0);
  else if (ref.kind === 'inline') byteLength = ref.data.byteLength;
  else byteLength = 0;
  const location = primaryStorage(ref)?.location ?? ('kind' in ref && ref.kind === 'inline' ? ref.device : 'meta');
  return Object.freeze({ name, path, kind, dtype, shape, location, byteLength, sharedWith, ref });
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

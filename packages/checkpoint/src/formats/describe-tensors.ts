/**
 * The one walk of an object graph that finds its tensors, whatever their kind (strided, quantized,
 * sparse, meta, inline), and describes each as a {@link CheckpointEntry}; where each sits is kept
 * (see {@link replaceEntry}) so that a loader can replace it in place with a tensor.
 *
 * @module
 */
import { dtypeInfo } from '@x/device';
import type { CheckpointEntry, PathKey } from './container.js';
import { checkBound, type Limits } from '../limits.js';
import { describeRef, numel, primaryStorage, storagesOf, type AnyTensorRef } from '../tensors/materialise.js';
import { isTensorRef } from '../pickle/tensor-refs.js';
import { PyObject, Tuple, type StorageRef } from '../pickle/values.js';

/**
 * Where a walked value sits: `key` of a Map, index of an array, the member itself of a Set, or
 * (key `undefined`) a `PyObject`'s non-dict state; no holder for the root and for constructor
 * arguments and appended items, which are not replaced.
 */
interface Slot {
  readonly holder: object | undefined;
  readonly key: unknown;
}

interface Visit extends Slot {
  readonly value: unknown;
  readonly path: readonly PathKey[];
}

interface Leave {
  readonly leave: object;
  /** Entries listed and cycles cut before the container was entered. */
  readonly found: number;
  readonly cuts: number;
}

/** The tensors of an object graph, as {@link describeTensors} finds them. */
export interface DescribedTensors {
  /** Every tensor leaf in depth-first (pickling) order; a leaf reached by two paths is listed twice (same `ref`). */
  readonly entries: readonly CheckpointEntry[];
  /** Every distinct storage the entries use, in order of first reference. */
  readonly storages: ReadonlySet<StorageRef>;
}

const KINDS: ReadonlySet<unknown> = new Set(['quantized', 'sparse', 'meta', 'inline']);
const NONE: readonly string[] = Object.freeze([]);

/** A {@link CheckpointEntry} that knows where its tensor sits in the graph it was described from. */
class Entry implements CheckpointEntry {
  readonly name: string;
  readonly path: readonly PathKey[];
  readonly kind: CheckpointEntry['kind'];
  readonly dtype: CheckpointEntry['dtype'];
  readonly shape: readonly number[];
  readonly location: string;
  readonly byteLength: number;
  readonly sharedWith: readonly string[];
  readonly ref: AnyTensorRef;
  readonly #holder: object | undefined;
  readonly #key: unknown;

  constructor(path: readonly PathKey[], name: string, ref: AnyTensorRef, sharedWith: readonly string[], slot: Slot) {
    const { dtype, shape } = describeRef(ref);
    const kind = 'kind' in ref ? ref.kind : 'strided';
    this.name = name;
    this.path = path;
    this.kind = kind;
    this.dtype = dtype;
    this.shape = shape;
    this.location = primaryStorage(ref)?.location ?? ('kind' in ref && ref.kind === 'inline' ? ref.device : 'meta');
    if (kind === 'strided' || kind === 'quantized') this.byteLength = numel(shape) * dtypeInfo(dtype).itemSize;
    else if (kind === 'sparse') this.byteLength = storagesOf(ref).reduce((sum, s) => sum + s.byteLength, 0);
    else if (kind === 'inline') this.byteLength = (ref as { data: Uint8Array }).data.byteLength;
    else this.byteLength = 0;
    this.sharedWith = sharedWith;
    this.ref = ref;
    this.#holder = slot.holder; // not the slot itself: the walk's records die with the walk
    this.#key = slot.key;
    Object.freeze(this);
  }

  /** `entry` with `sharedWith` set. */
  static sharing(entry: Entry, sharedWith: readonly string[]): Entry {
    return new Entry(entry.path, entry.name, entry.ref, sharedWith, { holder: entry.#holder, key: entry.#key });
  }

  /** See {@link replaceEntry}. */
  static replace(entry: CheckpointEntry, value: unknown): boolean {
    if (!(entry instanceof Entry) || entry.#holder === undefined) return false;
    const holder = entry.#holder;
    const key = entry.#key;
    if (holder instanceof Map) holder.set(key, value);
    else if (Array.isArray(holder)) holder[key as number] = value;
    else if (holder instanceof Set) replaceInSet(holder, key, value);
    else (holder as PyObject).state = value;
    return true;
  }
}

/**
 * Walks `root` once, iteratively in depth-first (pickling) order, and describes every tensor leaf:
 * its kind, dtype, shape, saved location, size and the other entries sharing one of its storages.
 * Steps: `Map` values (keys that are not strings or numbers written as their Python repr, e.g.
 * `(2, 3)`), array / tuple / set indices, a `PyObject`'s `__dict__` state keys (as
 * `torch.save(model)` paths read: `_modules.fc._parameters.weight`), its constructor arguments
 * under `__args__` and appended items under `__items__`. A leaf (a plain object made by a rebuild
 * function: pickles cannot create one) is not walked into; one reached by two paths is listed
 * twice. A container found to hold no entry (and no cycle) is not walked again, so memo-shared
 * DAGs cost their distinct nodes; cycles are not followed; more than `maxNodes` visits (each
 * listed path counting its length) fail with `PICKLE_LIMIT`.
 */
export function describeTensors(root: unknown, limits: Limits): DescribedTensors {
  const leaves = new Leaves();
  if (isTensorMap(root, limits)) {
    // a state dict: the walk below lists each tensor under its key, without a stack to keep
    root.forEach((ref, key) => {
      leaves.add([pathKey(key)], ref, { holder: root, key });
    });
    return leaves.described();
  }
  const ancestors = new Set<object>();
  const leafFree = new WeakSet<object>();
  const stack: (Visit | Leave)[] = [{ value: root, path: [], holder: undefined, key: undefined }];
  let visits = 0;
  let cuts = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if ('leave' in frame) {
      ancestors.delete(frame.leave);
      if (leaves.count === frame.found && cuts === frame.cuts) leafFree.add(frame.leave);
      continue;
    }
    if (++visits > limits.maxNodes)
      checkBound(visits, limits.maxNodes, 'maxNodes', 'objects visited while listing tensors');
    const { value, path } = frame;
    if (typeof value !== 'object' || value === null) continue;
    if (isTensorLeaf(value)) {
      visits += path.length; // a listed path is held in memory: its steps count as visits
      checkBound(visits, limits.maxNodes, 'maxNodes', 'objects visited while listing tensors');
      leaves.add(path, value, frame);
      continue;
    }
    if (leafFree.has(value)) continue; // containers only: a leaf is neither leaf-free nor an ancestor
    if (ancestors.has(value)) {
      cuts++;
      continue;
    }
    stack.push({ leave: value, found: leaves.count, cuts });
    const start = stack.length;
    pushChildren(value, path, stack);
    if (stack.length === start) {
      stack.pop();
      continue;
    }
    reverse(stack, start); // children were pushed in order; the first must be popped first
    ancestors.add(value);
  }
  return leaves.described();
}

/**
 * Whether `root` is a `Map` of tensor leaves only (a state dict) that {@link describeTensors}
 * walks within `maxNodes`: the root, then each leaf and its one-step path, 1 + 2n visits.
 */
function isTensorMap(root: unknown, limits: Limits): root is Map<unknown, AnyTensorRef> {
  if (!(root instanceof Map) || 1 + 2 * root.size > limits.maxNodes) return false;
  for (const value of root.values())
    if (typeof value !== 'object' || value === null || !isTensorLeaf(value)) return false;
  return true;
}

/**
 * The entries found so far and the storages they view. Each is listed sharing nothing; only when
 * some storage turned up twice are the names viewing each storage gathered (a second pass).
 */
class Leaves {
  readonly #entries: Entry[] = [];
  readonly #storages = new Set<StorageRef>();
  #twice = false;

  get count(): number {
    return this.#entries.length;
  }

  add(path: readonly PathKey[], ref: AnyTensorRef, slot: Slot): void {
    for (const s of storagesOf(ref)) {
      if (this.#storages.has(s)) this.#twice = true;
      else this.#storages.add(s);
    }
    this.#entries.push(new Entry(path, path.join('.'), ref, NONE, slot));
  }

  described(): DescribedTensors {
    const entries = this.#entries;
    if (this.#twice) {
      const viewers = new Map<StorageRef, string[]>();
      for (const { name, ref } of entries) {
        for (const s of storagesOf(ref)) {
          const names = viewers.get(s);
          if (names === undefined) viewers.set(s, [name]);
          else if (names.at(-1) !== name) names.push(name);
        }
      }
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!;
        let shared: readonly string[] = NONE;
        for (const s of storagesOf(entry.ref)) {
          const names = viewers.get(s)!;
          if (names.length > 1) shared = [...new Set([...shared, ...names])].filter((n) => n !== entry.name);
        }
        if (shared !== NONE) entries[i] = Entry.sharing(entry, Object.freeze(shared));
      }
    }
    return { entries, storages: this.#storages };
  }
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
  return Entry.replace(entry, value);
}

/** Whether `value` is a tensor description of any kind (a plain object: pickles cannot create one, only the rebuild functions do). */
function isTensorLeaf(value: object): value is AnyTensorRef {
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  return isTensorRef(value) || KINDS.has((value as { kind?: unknown }).kind);
}

function pushChildren(value: object, path: readonly PathKey[], stack: (Visit | Leave)[]): void {
  if (value instanceof Map) {
    for (const [k, v] of value) stack.push({ value: v, path: childPath(path, pathKey(k)), holder: value, key: k });
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      stack.push({ value: value[i], path: childPath(path, i), holder: value, key: i });
  } else if (value instanceof Set) {
    let i = 0;
    for (const v of value) stack.push({ value: v, path: childPath(path, i++), holder: value, key: v });
  } else if (value instanceof PyObject) {
    if (value.state instanceof Map) pushChildren(value.state, path, stack);
    else if (value.state !== undefined) stack.push({ value: value.state, path, holder: value, key: undefined });
    if (value.args !== undefined && value.args.length > 0)
      stack.push({ value: value.args, path: childPath(path, '__args__'), holder: undefined, key: undefined });
    if (value.items.length > 0)
      stack.push({ value: value.items, path: childPath(path, '__items__'), holder: undefined, key: undefined });
  }
}

/** `path` and one more step, in an array of exactly that length (entries keep their paths; a spread leaves spare room). */
function childPath(path: readonly PathKey[], key: PathKey): PathKey[] {
  const out = new Array<PathKey>(path.length + 1);
  for (let i = 0; i < path.length; i++) out[i] = path[i]!;
  out[path.length] = key;
  return out;
}

function reverse(items: unknown[], start: number): void {
  for (let i = start, j = items.length - 1; i < j; i++, j--) [items[i], items[j]] = [items[j], items[i]];
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

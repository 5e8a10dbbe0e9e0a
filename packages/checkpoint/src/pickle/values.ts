/**
 * The Python value model shared by the reader (unpickler) and the writer (pickler).
 *
 * `torch.load` returns Python objects; we return their closest faithful JavaScript forms:
 *
 * | Python                    | JavaScript                                   |
 * | ------------------------- | -------------------------------------------- |
 * | `dict`                    | `Map` (insertion order and non-string keys)  |
 * | `collections.OrderedDict` | {@link OrderedDict} (a `Map` with `metadata`) |
 * | `list`                    | `Array`                                      |
 * | `tuple`                   | {@link Tuple} (an `Array` subclass)          |
 * | `int`                     | `number` when a safe integer, else `bigint`  |
 * | `float`                   | `number` (integral floats remembered, see {@link markFloat}) |
 * | `str` / `bytes`           | `string` / `Uint8Array`                      |
 * | `bool` / `None`           | `boolean` / `null`                           |
 * | unknown class (opt-in)    | {@link PyObject}, an inert record            |
 *
 * @module
 */

import type { TorchDType } from '@x/device';

/**
 * A Python tuple: an `Array` that remembers it was a tuple, so a round trip writes a tuple back.
 * Array methods that build new arrays (`map`, `filter`, …) return plain arrays.
 */
export class Tuple<T = unknown> extends Array<T> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
}

/** Builds a {@link Tuple} from its items. */
export function tuple<T extends unknown[]>(...items: T): Tuple<T[number]> {
  return asTuple(items);
}

/**
 * Makes `items` itself a {@link Tuple} (no copy) and returns it. V8 constructs Array subclasses
 * through its runtime, ~10× slower than an array literal re-prototyped, and unpickling builds one
 * tuple per few opcodes.
 */
export function asTuple<T>(items: T[]): Tuple<T> {
  return Object.setPrototypeOf(items, Tuple.prototype) as Tuple<T>;
}

/**
 * A Python `collections.OrderedDict`. `nn.Module.state_dict()` returns one whose `_metadata`
 * attribute maps module paths to `{ version: N }`; it is kept in {@link OrderedDict.metadata} so
 * a round trip writes it back.
 */
export class OrderedDict<K = unknown, V = unknown> extends Map<K, V> {
  /** The `_metadata` attribute of a state dict, when the pickle set one. */
  metadata: OrderedDict<string, Map<string, unknown>> | undefined = undefined;
}

/**
 * An inert record of an instance of a class that is not on the allow list, produced only when the
 * caller opts in to unknown classes. Nothing of the class is ever executed: the record holds what
 * the pickle said about it.
 */
export class PyObject {
  /** Arguments given to the class (REDUCE, NEWOBJ) or `undefined`. */
  args: unknown[] | undefined = undefined;
  /** How the pickle made it: `'reduce'` (REDUCE, `callable(*args)`) or `'newobj'` (NEWOBJ, `cls.__new__(cls, *args)`). */
  via: 'reduce' | 'newobj' = 'reduce';
  /** The state given by BUILD (`__setstate__` / `__dict__` update), or `undefined`. */
  state: unknown = undefined;
  /** Items appended (APPENDS) or set (SETITEMS) on the object, in order. */
  readonly items: unknown[] = [];
  /** Whether {@link items} were set by SETITEM(S), each a `(key, value)` {@link Tuple}, rather than appended. */
  keyed = false;

  /**
   * @param module - Python module of the class, e.g. `__main__`.
   * @param name - Qualified class name, e.g. `Net`.
   */
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

const floatSlots = new WeakMap<object, Set<unknown>>();

/**
 * Records that `container[slot]` (an array index or a `Map` key) holds a Python `float` whose
 * value is integral, such as `1.0`: in JavaScript it is the number `1`, which would otherwise be
 * written back as the int `1`. The reader marks every such slot; the writer asks {@link isFloat}.
 */
export function markFloat(container: object, slot: unknown): void {
  let slots = floatSlots.get(container);
  if (slots === undefined) floatSlots.set(container, (slots = new Set()));
  slots.add(slot);
}

/** Whether `container[slot]` was marked with {@link markFloat}. */
export function isFloat(container: object, slot: unknown): boolean {
  return floatSlots.get(container)?.has(slot) ?? false;
}

/** The slots of `container` marked with {@link markFloat}, if any: one lookup for a whole container. */
export function floatSlotsOf(container: object): ReadonlySet<unknown> | undefined {
  return floatSlots.get(container);
}

/**
 * A storage as the checkpoint describes it: the persistent id of `torch.save`
 * (`('storage', storage_type, key, location, numel)`) plus its size in bytes.
 */
export interface StorageRef {
  /** Record name under `data/` (zip), or the legacy storage key. */
  readonly key: string;
  /** dtype of the storage's elements (`uint8` for an UntypedStorage). */
  readonly dtype: TorchDType;
  /** Location string as saved, e.g. `cpu` or `cuda:0`. */
  readonly location: string;
  /** Elements of `dtype` in the whole storage (not just one view of it). */
  readonly numel: number;
  /** `numel * itemSize`. */
  readonly byteLength: number;
}

/**
 * A tensor as the checkpoint describes it, before any data is read: a view (offset, shape,
 * stride, all in elements) into a {@link StorageRef}. Views of one storage share the same
 * `StorageRef` object.
 */
export interface TensorRef {
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  /** The tensor's dtype (differs from the storage's only for `_rebuild_tensor_v3` records). */
  readonly dtype: TorchDType;
  readonly requiresGrad: boolean;
  /** Saved as an `nn.Parameter` (`_rebuild_parameter`). */
  readonly parameter: boolean;
}

/**
 * A `torch.dtype` object inside a pickle (`GLOBAL 'torch float16'`), e.g. an optimizer or config
 * value, as opposed to the dtype of a tensor.
 */
export class DType {
  /** @param name - The canonical torch attribute name (`float32`, not `float`). */
  constructor(readonly name: TorchDType) {}
}

/**
 * A `torch.Size` inside a pickle (`GLOBAL 'torch Size'` applied to a tuple of ints); tensors'
 * own shapes are plain arrays on {@link TensorRef}.
 */
export class TorchSize extends Tuple<number> {}

/** Whether `value` has the shape of a {@link TensorRef}. */
export function isTensorRef(value: unknown): value is TensorRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    'storage' in value &&
    'shape' in value &&
    'stride' in value &&
    isStorageRef(value.storage)
  );
}

/** Whether `value` has the shape of a {@link StorageRef}. */
export function isStorageRef(value: unknown): value is StorageRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    'key' in value &&
    'dtype' in value &&
    'location' in value &&
    'numel' in value &&
    'byteLength' in value
  );
}

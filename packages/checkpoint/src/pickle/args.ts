/**
 * Typed access to the arguments of an allow-listed callable, with `PICKLE_TYPE` errors that name
 * the callable, the argument index and the Python type found (never the value).
 *
 * @module
 */
import { CheckpointError, type ErrorWhere } from '../errors.js';
import type { Limits } from '../limits.js';
import type { TorchDType } from '@x/device';
import { Layout } from './tensor-refs.js';
import {
  DType,
  floatSlotsOf,
  isFloat,
  isStorageRef,
  isTensorRef,
  OrderedDict,
  PyObject,
  TorchSize,
  Tuple,
} from './values.js';
import { PyGlobal } from './globals.js';

/** What the semantic actions of the unpickler need to know. */
export interface Context {
  readonly limits: Limits;
  /** `unknownClasses === 'record'`. */
  readonly record: boolean;
  /** Entry and byte offset of the opcode being executed. */
  where(): ErrorWhere;
}

/** The Python type name of a value of the model in `values.ts`, for messages. */
export function pyTypeName(v: unknown): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof TorchSize) return 'torch.Size';
  if (v instanceof Tuple) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (v instanceof OrderedDict) return 'collections.OrderedDict';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  if (v instanceof DType) return 'torch.dtype';
  if (v instanceof Layout) return 'torch.layout';
  if (v instanceof PyGlobal) return `global ${v.module}.${v.name}`.slice(0, 80);
  if (v instanceof PyObject) return `${v.module}.${v.name}`.slice(0, 80);
  if (isTensorRef(v)) return 'torch.Tensor';
  if (isStorageRef(v)) return 'storage';
  if (ArrayBuffer.isView(v)) return 'numpy.ndarray';
  return typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v;
}

/**
 * The positional arguments of one call, read with type checks. Integral floats are refused where
 * ints are expected (they were marked with `markFloat` when the tuple was built).
 */
export class Args {
  /** @param callable - the callable (its `module.name` is built only for a message) or its name. */
  constructor(
    private readonly callable: PyGlobal | string,
    readonly items: readonly unknown[],
    readonly ctx: Context,
  ) {}

  /** `module.name` of the callable, for messages. */
  get fn(): string {
    return String(this.callable);
  }

  get length(): number {
    return this.items.length;
  }

  /** Throws unless `min <= length <= max`. */
  arity(min: number, max = min): void {
    if (this.items.length < min || this.items.length > max) {
      const want = min === max ? `${min}` : `${min} to ${max}`;
      throw new CheckpointError(
        'PICKLE_TYPE',
        `${this.fn} takes ${want} arguments, got ${this.items.length}`,
        this.ctx.where(),
      );
    }
  }

  /** Throws `PICKLE_TYPE` saying argument `i` should have been `expected`. */
  fail(i: number, expected: string): never {
    throw new CheckpointError(
      'PICKLE_TYPE',
      `${this.fn} argument ${i} must be ${expected}, got ${pyTypeName(this.items[i])}`,
      {
        ...this.ctx.where(),
        details: { function: this.fn, argument: i },
      },
    );
  }

  /** Argument `i` as is. */
  get(i: number): unknown {
    return this.items[i];
  }

  /** A Python int (`number` or `bigint`; not bool, not float). */
  int(i: number): number | bigint {
    const v = this.items[i];
    if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && !isFloat(this.items, i))) return v;
    return this.fail(i, 'an int');
  }

  /** A Python float or int, as a number. */
  number(i: number): number {
    const v = this.items[i];
    if (typeof v === 'number') return v;
    return this.fail(i, 'a float');
  }

  /** A Python bool. */
  bool(i: number): boolean {
    const v = this.items[i];
    if (typeof v === 'boolean') return v;
    return this.fail(i, 'a bool');
  }

  /** A Python str. */
  str(i: number): string {
    const v = this.items[i];
    if (typeof v === 'string') return v;
    return this.fail(i, 'a str');
  }

  /** A tuple (or list) of Python ints. */
  ints(i: number): (number | bigint)[] {
    const v = this.items[i];
    if (!Array.isArray(v)) return this.fail(i, 'a tuple of ints');
    const floats = floatSlotsOf(v);
    const out = new Array<number | bigint>(v.length);
    for (let k = 0; k < v.length; k++) {
      const x: unknown = v[k];
      if (!(typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x) && !floats?.has(k))))
        this.fail(i, 'a tuple of ints');
      out[k] = x as number | bigint;
    }
    return out;
  }

  /** A tuple. */
  tuple(i: number): Tuple {
    const v = this.items[i];
    if (v instanceof Tuple) return v;
    return this.fail(i, 'a tuple');
  }

  /** An allow-listed global of one of `kinds`. */
  global(i: number, kinds: readonly string[], expected: string): PyGlobal {
    const v = this.items[i];
    if (v instanceof PyGlobal && v.kind !== undefined && kinds.includes(v.kind)) return v;
    return this.fail(i, expected);
  }

  /** A `torch.dtype` value. */
  dtype(i: number): TorchDType {
    const v = this.items[i];
    if (v instanceof DType) return v.name;
    return this.fail(i, 'a torch dtype');
  }

  /** An empty dict / OrderedDict (`backward_hooks`, which torch never serialises), or `None` as torch 0.4 wrote it. */
  emptyHooks(i: number): void {
    const v = this.items[i];
    if (v === null) return;
    if (!(v instanceof Map) || v.size !== 0)
      this.fail(i, 'an empty OrderedDict or None (backward hooks are never saved)');
  }
}

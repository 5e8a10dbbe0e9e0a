/**
 * A pickle virtual machine that interprets data and never resolves names (a pickle that
 * names a callable could otherwise run code): every opcode of protocols 0–5 that builds data, globals looked up in
 * an exact allow list, iterative, bounded, and stricter than CPython where CPython is lax
 * (PROTO only first, STOP with exactly one value and no open mark, no trailing bytes, no memo
 * redefinition, no duplicate dict keys). Opcodes and their arguments are read by `opcodes.ts`'s
 * {@link PickleDecoder}; this module gives them meaning.
 *
 * | Python value | Result |
 * | --- | --- |
 * | `str` (`BINUNICODE` family, UTF-8 with `surrogatepass`; `UNICODE`, raw-unicode-escape) | `string` |
 * | Python 2 `str` (`STRING`, `BINSTRING`, `SHORT_BINSTRING`) | decoded with `encoding` (default `'utf-8'`, as `torch.load`) |
 * | `bytes`, `bytearray` | `Uint8Array` |
 * | `set`, `frozenset` | `Set` |
 * | `complex` | `PyObject('builtins', 'complex')` with `args` `[re, im]` |
 * | `torch.Size` | `TorchSize` (a {@link Tuple}) |
 * | `torch.device` | `Device` of `@x/device` |
 * | layouts (`_get_layout`) | `Layout` |
 * | dtypes | `DType` of `values.ts` |
 * | qschemes, classes as values | {@link PyGlobal} |
 * | tensors | {@link RebuiltTensorRef}, `QuantizedTensorRef`, `SparseTensorRef`, `MetaTensorRef`, `InlineTensorRef` |
 * | numpy arrays / scalars | typed arrays (see `numpyInfo`) / numbers, bigints, booleans (slot marked, see `numpyScalarType`) |
 *
 * @module
 */
import { CheckpointError, type CheckpointErrorCode, type ErrorWhere } from '../errors.js';
import { checkBound, resolveLimits, type Limits } from '../limits.js';
import { dtypeFromTorchName, quote } from '@x/device';
import type { ReadOptions } from '../read-context.js';
import { asTuple, DType, markFloat, PyObject, Tuple } from './values.js';
import { pyTypeName, type Context } from './args.js';
import { bare, FloatBox, NumpyScalarBox, Pending } from './boxes.js';
import { lookupGlobal, PyGlobal } from './globals.js';
import { markNumpyScalar } from './numpy.js';
import { decodeLong, OP, PickleDecoder } from './opcodes.js';
import { build, callGlobal, newObject, type Containers } from './reduce.js';
import {
  decodeLatin1,
  decodeRawUnicodeEscape,
  decodeUtf8,
  decodeUtf8Surrogatepass,
  escapeDecode,
  parseFloatLiteral,
  parseIntLiteral,
} from './text.js';

/**
 * Options of {@link unpickle}. `unknownClasses: 'record'` makes a global outside the allow list an
 * inert {@link PyGlobal} at the `GLOBAL` opcode, and calling or building it a {@link PyObject}
 * record.
 */
export interface UnpickleOptions extends Pick<ReadOptions, 'limits' | 'unknownClasses'> {
  /**
   * Turns a persistent id (`BINPERSID` / `PERSID`) into a value, e.g. a `StorageTable`'s
   * `persistentLoad`. Without it, persistent ids are refused (`PICKLE_UNSUPPORTED_OPCODE`).
   */
  readonly persistentLoad?: (pid: unknown, where: ErrorWhere) => unknown;
  /** Decoding of Python 2 `str` opcodes: `'utf-8'` (torch.load's default), `'latin1'`, or `'bytes'` (Uint8Array). */
  readonly encoding?: 'utf-8' | 'latin1' | 'bytes';
  /** Archive entry the pickle came from, for errors. */
  readonly entry?: string;
  /** Added to positions in errors (e.g. the record's absolute data offset). */
  readonly baseOffset?: number;
}

/** {@link UnpickleOptions} with the limits resolved: what the readers inside the package pass. */
export interface UnpickleContext extends Omit<UnpickleOptions, 'limits'> {
  readonly limits: Limits;
}

/** Unpickles a whole buffer: exactly one pickle, nothing after its `STOP`. */
export function unpickle(data: Uint8Array, options: UnpickleOptions = {}): unknown {
  return unpickleWhole(data, { ...options, limits: resolveLimits(options.limits) });
}

/** {@link unpickle} with the limits already resolved. */
export function unpickleWhole(data: Uint8Array, options: UnpickleContext): unknown {
  const { value, end } = unpickleAt(data, 0, options);
  if (end !== data.length) {
    throw new CheckpointError('PICKLE_TRAILING_DATA', `${data.length - end} bytes follow the pickle's STOP`, {
      entry: options.entry,
      offset: (options.baseOffset ?? 0) + end,
    });
  }
  return value;
}

/**
 * Unpickles the pickle starting at `start` and says where it ended (legacy files are several
 * pickles in a row, then raw data).
 */
export function unpickleAt(data: Uint8Array, start: number, options: UnpickleContext): { value: unknown; end: number } {
  const { limits } = options;
  checkBound(data.length - start, limits.maxPickleBytes, 'maxPickleBytes', 'pickle size', { entry: options.entry });
  return new Machine(data, start, options).run();
}

/** Opcodes that call code or need out-of-band data: refused before their argument is read. */
const REFUSED = Uint8Array.from({ length: 256 }, (_, op) =>
  [OP.INST, OP.OBJ, OP.EXT1, OP.EXT2, OP.EXT4, OP.NEWOBJ_EX, OP.NEXT_BUFFER, OP.READONLY_BUFFER].includes(op) ? 1 : 0,
);

class Machine implements Context, Containers {
  readonly record: boolean;
  private readonly r: PickleDecoder;
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  /** Memo values by index (indices are dense in practice; a sparse one just makes a slower array). */
  private readonly memo: unknown[] = [];
  private memoSize = 0;
  // strong collections: a Machine lives for one pickle, and Map.set costs less than WeakMap.set
  private readonly depths = new Map<object, number>();
  private readonly mutableSets = new Set<Set<unknown>>();
  private nodes = 0;
  private pending = 0;

  readonly limits: Limits;

  constructor(
    data: Uint8Array,
    private readonly start: number,
    private readonly options: UnpickleContext,
  ) {
    this.limits = options.limits;
    this.record = options.unknownClasses === 'record';
    this.r = new PickleDecoder(data, start, options.limits, options.entry, options.baseOffset);
  }

  where(): ErrorWhere {
    return this.r.where();
  }

  private fail(code: CheckpointErrorCode, message: string, details?: Record<string, unknown>): never {
    return this.r.fail(code, message, details);
  }

  run(): { value: unknown; end: number } {
    const { maxOps } = this.limits;
    const r = this.r;
    for (let ops = 1; ; ops++) {
      if (ops > maxOps) checkBound(ops, maxOps, 'maxOps', 'opcode count', this.where());
      const op = r.opcode();
      if (op === OP.STOP) return { value: this.stop(), end: r.pos };
      if (REFUSED[op] === 1) {
        this.fail(
          'PICKLE_UNSUPPORTED_OPCODE',
          `opcode 0x${op.toString(16)} is not supported (it calls code or needs out-of-band data)`,
          { opcode: op },
        );
      }
      this.step(op, r.argument());
    }
  }

  /** A text argument (a line of the decoder) as strict UTF-8. */
  private text(bytes: Uint8Array, what: string): string {
    return decodeUtf8(bytes) ?? this.fail('PICKLE_STRING', `${what} argument is not valid UTF-8`);
  }

  // ---- stack ---------------------------------------------------------------------------------

  private push(v: unknown): void {
    if (this.stack.length >= this.limits.maxStack)
      checkBound(this.stack.length + 1, this.limits.maxStack, 'maxStack', 'pickle stack size', this.where());
    this.stack.push(v);
  }

  private fence(): number {
    return this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
  }

  private pop(): unknown {
    if (this.stack.length <= this.fence()) this.fail('PICKLE_STACK_UNDERFLOW', 'unpickling stack underflow');
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length <= this.fence()) this.fail('PICKLE_STACK_UNDERFLOW', 'unpickling stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(what: string): unknown[] {
    const base = this.marks.pop();
    if (base === undefined) this.fail('PICKLE_MARK', `${what} needs a MARK, none is open`);
    return this.stack.splice(base);
  }

  private float(v: number): number | FloatBox {
    return Number.isInteger(v) ? new FloatBox(v) : v;
  }

  // ---- containers ----------------------------------------------------------------------------

  /** Unboxes a stack value stored at `slot` of `container`, marking integral floats. */
  private settle(container: object, slot: unknown, v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (v instanceof NumpyScalarBox) {
      markNumpyScalar(container, slot, v.dtype, v.module);
      return this.settle(container, slot, v.value);
    }
    if (v instanceof FloatBox) {
      markFloat(container, slot);
      return v.value;
    }
    if (v instanceof Pending)
      this.fail('PICKLE_TYPE', `object created by ${String(v.origin)} was used before BUILD initialised it`);
    return v;
  }

  private created<T extends object>(obj: T): T {
    if (++this.nodes > this.limits.maxNodes)
      checkBound(this.nodes, this.limits.maxNodes, 'maxNodes', 'objects created', this.where());
    return obj;
  }

  /** Records that `container` now holds `item`, enforcing `maxDepth`. */
  private nest(container: object, item: unknown): void {
    if (typeof item !== 'object' || item === null) return;
    const inner = this.depths.get(item) ?? 1;
    if (inner + 1 > (this.depths.get(container) ?? 1)) {
      checkBound(inner + 1, this.limits.maxDepth, 'maxDepth', 'container nesting', this.where());
      this.depths.set(container, inner + 1);
    }
  }

  /**
   * Makes `items` (an array no one else holds) the tuple of its settled items: as {@link nest} per
   * item, with the tuple's depth kept in a local until the end (tuples are built once).
   */
  private makeTuple(items: unknown[]): Tuple {
    this.created(items);
    let depth = 1;
    for (let i = 0; i < items.length; i++) {
      const v = this.settle(items, i, items[i]);
      if (typeof v === 'object' && v !== null) {
        const d = (this.depths.get(v) ?? 1) + 1;
        if (d > depth) {
          checkBound(d, this.limits.maxDepth, 'maxDepth', 'container nesting', this.where());
          depth = d;
        }
      }
      items[i] = v;
    }
    if (depth > 1) this.depths.set(items, depth);
    return asTuple(items);
  }

  private append(target: unknown, item: unknown): void {
    if (Array.isArray(target) && !(target instanceof Tuple)) {
      const v = this.settle(target, target.length, item);
      this.nest(target, v);
      target.push(v);
    } else if (target instanceof PyObject && this.record) {
      target.items.push(this.settle(target.items, target.items.length, item));
    } else this.fail('PICKLE_TYPE', `can only append to lists, got ${pyTypeName(target)}`);
  }

  checkHashable(key: unknown): void {
    const unhashable =
      (Array.isArray(key) && !(key instanceof Tuple)) ||
      key instanceof Map ||
      (key instanceof Set && this.mutableSets.has(key));
    if (unhashable) this.fail('PICKLE_TYPE', `unhashable type: ${pyTypeName(key)}`);
    if (typeof key === 'number' && Number.isNaN(key))
      this.fail('PICKLE_TYPE', 'NaN cannot be a dict key or set member here');
    if (key instanceof Pending)
      this.fail('PICKLE_TYPE', `object created by ${String(key.origin)} was used before BUILD initialised it`);
  }

  setItem(map: Map<unknown, unknown>, rawKey: unknown, value: unknown): void {
    const key = bare(rawKey);
    this.checkHashable(key);
    // Python: True == 1 == 1.0, False == 0
    const twin = typeof key === 'boolean' ? Number(key) : key === 0 || key === 1 ? key === 1 : undefined;
    if (map.has(key) || (twin !== undefined && map.has(twin))) {
      this.fail(
        'PICKLE_DUPLICATE_KEY',
        `dict key ${typeof key === 'string' ? quote(key) : pyTypeName(key)} appears twice`,
      );
    }
    const v = this.settle(map, key, value);
    this.nest(map, v);
    map.set(key, v);
  }

  private setItems(target: unknown, items: readonly unknown[]): void {
    if (items.length % 2 !== 0) this.fail('PICKLE_TYPE', 'odd number of items for SETITEMS');
    if (target instanceof Map) {
      for (let i = 0; i < items.length; i += 2) this.setItem(target, items[i], items[i + 1]);
    } else if (target instanceof PyObject && this.record) {
      target.keyed = true;
      for (let i = 0; i < items.length; i += 2) target.items.push(this.makeTuple([items[i], items[i + 1]]));
    } else
      this.fail(
        'PICKLE_TYPE',
        `can only SETITEM on dict, collections.OrderedDict, collections.Counter, got ${pyTypeName(target)}`,
      );
  }

  private addItems(target: unknown, items: readonly unknown[]): void {
    if (!(target instanceof Set) || !this.mutableSets.has(target))
      this.fail('PICKLE_TYPE', `can only ADDITEMS to a set, got ${pyTypeName(target)}`);
    this.insertAll(target, items);
  }

  private makeSet(items: readonly unknown[], mutable: boolean): Set<unknown> {
    const s = this.created(new Set<unknown>());
    if (mutable) this.mutableSets.add(s);
    this.insertAll(s, items);
    return s;
  }

  private insertAll(s: Set<unknown>, items: readonly unknown[]): void {
    for (const item of items) {
      const v = bare(item);
      this.checkHashable(v);
      s.add(v);
    }
  }

  // ---- memo ----------------------------------------------------------------------------------

  private memoPut(index: number): void {
    if (index in this.memo) this.fail('PICKLE_MEMO_REDEFINED', `memo index ${index} is defined twice`);
    if (this.memoSize >= this.limits.maxMemo)
      checkBound(this.memoSize + 1, this.limits.maxMemo, 'maxMemo', 'memo entries', this.where());
    this.memo[index] = this.top();
    this.memoSize++;
  }

  private memoGet(index: number): void {
    if (!(index in this.memo)) this.fail('PICKLE_MEMO_MISSING', `memo value not found at index ${index}`);
    const v = this.memo[index];
    this.push(v instanceof Pending && v.resolved ? v.result : v);
  }

  private memoIndex(what: string): number {
    const n = parseIntLiteral(this.text(this.r.bytes, what));
    if (typeof n !== 'number' || n < 0) this.fail('PICKLE_TYPE', `${what} argument must be a non-negative int`);
    return n;
  }

  // ---- globals and calls ---------------------------------------------------------------------

  private global(module: string, name: string): PyGlobal | DType {
    const found = lookupGlobal(module, name);
    if (found.kind === undefined && (found.blocked || !this.record)) {
      const hint = found.blocked
        ? ` (module ${quote(found.module)} is blocked)`
        : "; nothing was executed. To keep unknown classes as inert records pass unknownClasses: 'record'";
      this.fail(
        'PICKLE_UNSAFE_GLOBAL',
        `unsupported global: ${quote(`${found.module}.${name}`)} is not an allowed global${hint}`,
        {
          global: `${found.module}.${name}`.slice(0, 256),
        },
      );
    }
    return found.kind === 'dtype'
      ? new DType(dtypeFromTorchName(name)!)
      : new PyGlobal(found.module, found.name, found.kind);
  }

  private persistent(pid: unknown): unknown {
    const load = this.options.persistentLoad;
    if (load === undefined) this.fail('PICKLE_UNSUPPORTED_OPCODE', 'persistent ids are not allowed in this pickle');
    return load(bare(pid), this.where());
  }

  private python2String(bytes: Uint8Array): unknown {
    const encoding = this.options.encoding ?? 'utf-8';
    if (encoding === 'bytes') return bytes.slice();
    if (encoding === 'latin1') return decodeLatin1(bytes);
    return (
      decodeUtf8(bytes) ??
      this.fail('PICKLE_STRING', `Python 2 str is not valid UTF-8 (pass encoding: 'latin1' or 'bytes')`)
    );
  }

  private unicode(bytes: Uint8Array): string {
    return (
      decodeUtf8Surrogatepass(bytes) ?? this.fail('PICKLE_STRING', 'str payload is not valid UTF-8 (surrogatepass)')
    );
  }

  // ---- opcodes -------------------------------------------------------------------------------

  private stop(): unknown {
    if (this.marks.length > 0) this.fail('PICKLE_MARK', `STOP with ${this.marks.length} open MARK(s)`);
    if (this.stack.length !== 1)
      this.fail('PICKLE_STACK_UNDERFLOW', `STOP needs exactly one value on the stack, found ${this.stack.length}`);
    if (this.pending > 0)
      this.fail(
        'PICKLE_TYPE',
        'an object created by REDUCE was never initialised by BUILD; the pickle is corrupt or malicious',
      );
    const v = bare(this.stack[0]);
    if (v instanceof Pending) return this.fail('PICKLE_TYPE', 'the result was never initialised by BUILD');
    return v;
  }

  /**
   * Runs one opcode whose argument the decoder has read (`arg`: the numeric argument, else in
   * `r.bytes` / `r.second`); refused and invalid opcodes never get here.
   */
  private step(op: number, arg: number): void {
    const r = this.r;
    // torch checkpoints' most frequent opcodes first: a switch over non-literal cases compares them in order
    switch (op) {
      case OP.BINPUT:
      case OP.LONG_BINPUT:
        this.memoPut(arg);
        return;
      case OP.BINGET:
      case OP.LONG_BINGET:
        this.memoGet(arg);
        return;
      case OP.BININT:
      case OP.BININT1:
      case OP.BININT2:
        this.push(arg);
        return;
      case OP.BINUNICODE:
      case OP.SHORT_BINUNICODE:
      case OP.BINUNICODE8:
        this.push(this.unicode(r.bytes));
        return;
      case OP.REDUCE: {
        const args = this.pop();
        const fn = this.pop();
        if (!(fn instanceof PyGlobal))
          this.fail('PICKLE_TYPE', `REDUCE needs an allowed callable, got ${pyTypeName(fn)}`);
        if (!(args instanceof Tuple))
          this.fail('PICKLE_TYPE', `REDUCE arguments must be a tuple, got ${pyTypeName(args)}`);
        this.push(this.called(callGlobal(fn, args, this, this)));
        return;
      }
      case OP.MARK:
        if (this.marks.length >= this.limits.maxMarks)
          checkBound(this.marks.length + 1, this.limits.maxMarks, 'maxMarks', 'open marks', this.where());
        this.marks.push(this.stack.length);
        return;
      case OP.TUPLE:
        this.push(this.makeTuple(this.popMark('TUPLE')));
        return;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const at = this.stack.length - (op - OP.TUPLE1 + 1);
        if (at < this.fence()) this.fail('PICKLE_STACK_UNDERFLOW', 'unpickling stack underflow');
        this.push(this.makeTuple(this.stack.splice(at)));
        return;
      }
      case OP.EMPTY_TUPLE:
        this.push(this.makeTuple([]));
        return;
      case OP.BINPERSID:
        this.push(this.persistent(this.pop()));
        return;
      case OP.NEWFALSE:
        this.push(false);
        return;
      case OP.SETITEMS: {
        const items = this.popMark('SETITEMS');
        this.setItems(this.top(), items);
        return;
      }
      case OP.GLOBAL:
        this.push(this.global(this.text(r.bytes, 'GLOBAL module'), this.text(r.second, 'GLOBAL name')));
        return;
      case OP.POP: // pops a MARK when the top of the stack is one, as CPython
        if (this.marks.length > 0 && this.marks[this.marks.length - 1] === this.stack.length) this.marks.pop();
        else this.pop();
        return;
      case OP.POP_MARK:
        this.popMark('POP_MARK');
        return;
      case OP.DUP:
        this.push(this.top());
        return;
      case OP.FLOAT: {
        const v = parseFloatLiteral(this.text(r.bytes, 'FLOAT'));
        if (v === undefined) this.fail('PICKLE_TYPE', 'FLOAT argument is not a float literal');
        this.push(this.float(v));
        return;
      }
      case OP.INT: {
        const text = this.text(r.bytes, 'INT');
        const v = text === '00' ? false : text === '01' ? true : parseIntLiteral(text);
        if (v === undefined) this.fail('PICKLE_TYPE', 'INT argument is not an int literal');
        this.push(v);
        return;
      }
      case OP.LONG: {
        const text = this.text(r.bytes, 'LONG');
        const v = parseIntLiteral(text.endsWith('L') ? text.slice(0, -1) : text);
        if (v === undefined) this.fail('PICKLE_TYPE', 'LONG argument is not an int literal');
        this.push(v);
        return;
      }
      case OP.NONE:
        this.push(null);
        return;
      case OP.PERSID:
        if (r.bytes.some((b) => b >= 0x80)) this.fail('PICKLE_STRING', 'PERSID argument is not ASCII');
        this.push(this.persistent(decodeLatin1(r.bytes)));
        return;
      case OP.STRING: {
        const raw = r.bytes;
        const q = raw[0];
        if (raw.length < 2 || (q !== 0x22 && q !== 0x27) || raw[raw.length - 1] !== q)
          this.fail('PICKLE_STRING', 'the STRING opcode argument must be quoted');
        const bytes =
          escapeDecode(raw.subarray(1, raw.length - 1)) ??
          this.fail('PICKLE_STRING', 'invalid escape in STRING argument');
        checkBound(bytes.length, this.limits.maxStringBytes, 'maxStringBytes', 'STRING length', this.where());
        this.push(this.python2String(bytes));
        return;
      }
      case OP.BINSTRING:
      case OP.SHORT_BINSTRING:
        this.push(this.python2String(r.bytes));
        return;
      case OP.UNICODE:
        this.push(
          decodeRawUnicodeEscape(r.bytes) ??
            this.fail('PICKLE_STRING', 'invalid raw-unicode-escape in UNICODE argument'),
        );
        return;
      case OP.BINBYTES:
      case OP.SHORT_BINBYTES:
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        this.push(r.bytes.slice());
        return;
      case OP.APPEND: {
        const v = this.pop();
        this.append(this.top(), v);
        return;
      }
      case OP.APPENDS: {
        const items = this.popMark('APPENDS');
        const target = this.top();
        for (const item of items) this.append(target, item);
        return;
      }
      case OP.BUILD: {
        const state = this.pop();
        const target = this.pop();
        const wasPending = target instanceof Pending && !target.resolved;
        this.push(build(target, bare(state), this));
        if (wasPending) this.pending--;
        return;
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          this.fail('PICKLE_TYPE', `STACK_GLOBAL needs two str, got ${pyTypeName(module)} and ${pyTypeName(name)}`);
        this.push(this.global(module, name));
        return;
      }
      case OP.DICT: {
        const items = this.popMark('DICT');
        const d = this.created(new Map<unknown, unknown>());
        this.setItems(d, items);
        this.push(d);
        return;
      }
      case OP.EMPTY_DICT:
        this.push(this.created(new Map()));
        return;
      case OP.SETITEM: {
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.top(), [k, v]);
        return;
      }
      case OP.LIST: {
        const items = this.popMark('LIST');
        const list = this.created<unknown[]>([]);
        for (const item of items) this.append(list, item);
        this.push(list);
        return;
      }
      case OP.EMPTY_LIST:
        this.push(this.created([]));
        return;
      case OP.EMPTY_SET:
        this.push(this.makeSet([], true));
        return;
      case OP.ADDITEMS: {
        const items = this.popMark('ADDITEMS');
        this.addItems(this.top(), items);
        return;
      }
      case OP.FROZENSET:
        this.push(this.makeSet(this.popMark('FROZENSET'), false));
        return;
      case OP.GET:
        this.memoGet(this.memoIndex('GET'));
        return;
      case OP.PUT:
        this.memoPut(this.memoIndex('PUT'));
        return;
      case OP.MEMOIZE:
        this.memoPut(this.memoSize);
        return;
      case OP.BINFLOAT:
        this.push(this.float(arg));
        return;
      case OP.PROTO:
        if (r.start !== this.start) this.fail('PICKLE_PROTOCOL', 'PROTO is only allowed as the first opcode');
        if (arg > 5) this.fail('PICKLE_PROTOCOL', `unsupported pickle protocol: ${arg}`);
        return;
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop();
        if (!(args instanceof Tuple))
          this.fail('PICKLE_TYPE', `NEWOBJ arguments must be a tuple, got ${pyTypeName(args)}`);
        this.push(this.called(newObject(cls, args, this)));
        return;
      }
      case OP.NEWTRUE:
        this.push(true);
        return;
      case OP.LONG1:
      case OP.LONG4:
        this.push(decodeLong(r.bytes));
        return;
      case OP.FRAME: // the decoder opened it
        return;
    }
  }

  /** Accounts for objects REDUCE / NEWOBJ made. */
  private called(v: unknown): unknown {
    if (v instanceof Pending) this.pending++;
    if (typeof v === 'object' && v !== null) this.created(v);
    return v;
  }
}

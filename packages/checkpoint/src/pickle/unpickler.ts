/**
 * A pickle virtual machine that interprets data and never resolves names
 * (research/security.md §0): every opcode of protocols 0–5 that builds data, globals looked up in
 * an exact allow list, iterative, bounded, and stricter than CPython where CPython is lax
 * (PROTO only first, STOP with exactly one value and no open mark, no trailing bytes, no memo
 * redefinition, no duplicate dict keys).
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
import { CheckpointError, type ErrorWhere } from '../errors.js';
import { checkBound, resolveLimits, type Limits } from '../limits.js';
import { dtypeFromTorchName, quote } from '@x/device';
import type { ReadOptions } from '../read-context.js';
import { DType, markFloat, PyObject, Tuple } from '../values.js';
import { u64 } from '../zip/directory.js';
import { pyTypeName, type Context } from './args.js';
import { bare, FloatBox, NumpyScalarBox, Pending } from './boxes.js';
import { lookupGlobal, PyGlobal } from './globals.js';
import { markNumpyScalar } from './numpy.js';
import { build, callGlobal, newObject, type Containers } from './reduce.js';
import {
  decodeLatin1,
  decodeRawUnicodeEscape,
  decodeUtf8,
  decodeUtf8Surrogatepass,
  escapeDecode,
  parseFloatLiteral,
  parseIntLiteral,
  toNumberIfSafe,
} from './text.js';

/**
 * Options of {@link unpickle}. `unknownClasses: 'record'` makes a global outside the allow list an
 * inert {@link PyGlobal} at the `GLOBAL` opcode, and calling or building it a {@link PyObject}
 * record.
 *
 * @example
 * ```ts
 * unpickle(bytes, { unknownClasses: 'record', encoding: 'latin1', limits: { maxOps: 1e6 } });
 * ```
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

/**
 * Unpickles a whole buffer: exactly one pickle, nothing after its `STOP`.
 *
 * @example
 * ```ts
 * const table = createStorageTable();
 * const stateDict = unpickle(await zip.read('data.pkl'), { persistentLoad: table.persistentLoad, entry: 'archive/data.pkl' });
 * ```
 */
export function unpickle(data: Uint8Array, options: UnpickleOptions = {}): unknown {
  return unpickleWhole(data, { ...options, limits: resolveLimits(options.limits) });
}

/**
 * {@link unpickle} with the limits already resolved.
 *
 * @example
 * ```ts
 * const root = unpickleWhole(bytes, { limits: ctx.limits, persistentLoad: table.persistentLoad });
 * ```
 */
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
 *
 * @example
 * ```ts
 * const magic = unpickleAt(bytes, 0, { limits });
 * const version = unpickleAt(bytes, magic.end, { limits });
 * ```
 */
export function unpickleAt(data: Uint8Array, start: number, options: UnpickleContext): { value: unknown; end: number } {
  const { limits } = options;
  checkBound(data.length - start, limits.maxPickleBytes, 'maxPickleBytes', 'pickle size', { entry: options.entry });
  return new Machine(data, start, options, limits).run();
}

const NEWLINE = 0x0a;

class Machine implements Context, Containers {
  readonly record: boolean;
  private readonly view: DataView;
  private pos: number;
  private opStart: number;
  private frameEnd = -1;
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly depths = new WeakMap<object, number>();
  private readonly mutableSets = new WeakSet<Set<unknown>>();
  private nodes = 0;
  private pending = 0;

  constructor(
    private readonly data: Uint8Array,
    private readonly start: number,
    private readonly options: UnpickleOptions,
    readonly limits: Limits,
  ) {
    this.record = options.unknownClasses === 'record';
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.pos = start;
    this.opStart = start;
  }

  where(): ErrorWhere {
    return { entry: this.options.entry, offset: (this.options.baseOffset ?? 0) + this.opStart };
  }

  private fail(code: ConstructorParameters<typeof CheckpointError>[0], message: string, details?: Record<string, unknown>): never {
    throw new CheckpointError(code, message, { ...this.where(), details });
  }

  run(): { value: unknown; end: number } {
    const { maxOps } = this.limits;
    for (let ops = 1; ; ops++) {
      if (ops > maxOps) checkBound(ops, maxOps, 'maxOps', 'opcode count', this.where());
      if (this.pos === this.frameEnd) this.frameEnd = -1;
      this.opStart = this.pos;
      if (this.pos >= this.data.length) this.fail('PICKLE_TRUNCATED', 'pickle data was truncated (no STOP opcode)');
      const op = this.data[this.take(1)]!;
      if (op === 0x2e) return { value: this.stop(), end: this.pos };
      this.step(op);
    }
  }

  // ---- reading -------------------------------------------------------------------------------

  /** Advances over `n` bytes of the current opcode and returns where they start. */
  private take(n: number): number {
    const at = this.pos;
    const limit = this.frameEnd === -1 ? this.data.length : this.frameEnd;
    if (at + n > limit) {
      if (at + n > this.data.length) this.fail('PICKLE_TRUNCATED', `pickle data was truncated: ${n} bytes needed, ${this.data.length - at} left`);
      this.fail('PICKLE_FRAME', `opcode argument crosses the end of its FRAME`);
    }
    this.pos = at + n;
    return at;
  }

  private bytes(n: number): Uint8Array {
    const at = this.take(n);
    return this.data.subarray(at, at + n);
  }

  /** Length-prefixed payload: bounds-checked against the remaining bytes and `maxStringBytes` before any copy. */
  private payload(length: number, what: string): Uint8Array {
    if (this.pos + length > this.data.length) this.fail('PICKLE_TRUNCATED', `pickle data was truncated: ${what} declares ${length} bytes, ${this.data.length - this.pos} left`);
    if (length > this.limits.maxStringBytes) checkBound(length, this.limits.maxStringBytes, 'maxStringBytes', `${what} length`, this.where());
    return this.bytes(length);
  }

  private line(limit: 'maxLineBytes' | 'maxStringBytes', max: number, what: string): Uint8Array {
    const end = this.frameEnd === -1 ? this.data.length : this.frameEnd;
    const stop = Math.min(end, this.pos + max + 1);
    const i = this.data.subarray(this.pos, stop).indexOf(NEWLINE);
    if (i === -1) {
      if (stop === this.pos + max + 1) checkBound(max + 1, max, limit, `${what} line length`, this.where());
      if (end === this.data.length) this.fail('PICKLE_TRUNCATED', `pickle data was truncated inside a ${what} line`);
      this.fail('PICKLE_FRAME', `${what} line crosses the end of its FRAME`);
    }
    const out = this.data.subarray(this.pos, this.pos + i);
    this.pos += i + 1;
    return out;
  }

  private textLine(what: string): string {
    const bytes = this.line('maxLineBytes', this.limits.maxLineBytes, what);
    return decodeUtf8(bytes) ?? this.fail('PICKLE_STRING', `${what} argument is not valid UTF-8`);
  }

  private u8(): number {
    return this.data[this.take(1)]!;
  }

  private u16(): number {
    return this.view.getUint16(this.take(2), true);
  }

  private u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  private i32(): number {
    return this.view.getInt32(this.take(4), true);
  }

  private u64(): number {
    return u64(this.view, this.take(8));
  }

  // ---- stack ---------------------------------------------------------------------------------

  private push(v: unknown): void {
    if (this.stack.length >= this.limits.maxStack) checkBound(this.stack.length + 1, this.limits.maxStack, 'maxStack', 'pickle stack size', this.where());
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
    if (v instanceof NumpyScalarBox) {
      markNumpyScalar(container, slot, v.dtype, v.module);
      return this.settle(container, slot, v.value);
    }
    if (v instanceof FloatBox) {
      markFloat(container, slot);
      return v.value;
    }
    if (v instanceof Pending) this.fail('PICKLE_TYPE', `object created by ${String(v.origin)} was used before BUILD initialised it`);
    return v;
  }

  private created<T extends object>(obj: T): T {
    if (++this.nodes > this.limits.maxNodes) checkBound(this.nodes, this.limits.maxNodes, 'maxNodes', 'objects created', this.where());
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

  /** As {@link nest} per item, with the tuple's depth kept in a local until the end (tuples are built once). */
  private makeTuple(items: readonly unknown[]): Tuple {
    const t = this.created(new Tuple());
    let depth = 1;
    for (let i = 0; i < items.length; i++) {
      const v = this.settle(t, i, items[i]);
      if (typeof v === 'object' && v !== null) {
        const d = (this.depths.get(v) ?? 1) + 1;
        if (d > depth) {
          checkBound(d, this.limits.maxDepth, 'maxDepth', 'container nesting', this.where());
          depth = d;
        }
      }
      t.push(v);
    }
    if (depth > 1) this.depths.set(t, depth);
    return t;
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
      (Array.isArray(key) && !(key instanceof Tuple)) || key instanceof Map || (key instanceof Set && this.mutableSets.has(key));
    if (unhashable) this.fail('PICKLE_TYPE', `unhashable type: ${pyTypeName(key)}`);
    if (typeof key === 'number' && Number.isNaN(key)) this.fail('PICKLE_TYPE', 'NaN cannot be a dict key or set member here');
    if (key instanceof Pending) this.fail('PICKLE_TYPE', `object created by ${String(key.origin)} was used before BUILD initialised it`);
  }

  setItem(map: Map<unknown, unknown>, rawKey: unknown, value: unknown): void {
    const key = bare(rawKey);
    this.checkHashable(key);
    // Python: True == 1 == 1.0, False == 0
    const twin = typeof key === 'boolean' ? Number(key) : key === 0 || key === 1 ? key === 1 : undefined;
    if (map.has(key) || (twin !== undefined && map.has(twin))) {
      this.fail('PICKLE_DUPLICATE_KEY', `dict key ${typeof key === 'string' ? quote(key) : pyTypeName(key)} appears twice`);
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
    } else this.fail('PICKLE_TYPE', `can only SETITEM on dict, collections.OrderedDict, collections.Counter, got ${pyTypeName(target)}`);
  }

  private addItems(target: unknown, items: readonly unknown[]): void {
    if (!(target instanceof Set) || !this.mutableSets.has(target)) this.fail('PICKLE_TYPE', `can only ADDITEMS to a set, got ${pyTypeName(target)}`);
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
    if (this.memo.has(index)) this.fail('PICKLE_MEMO_REDEFINED', `memo index ${index} is defined twice`);
    if (this.memo.size >= this.limits.maxMemo) checkBound(this.memo.size + 1, this.limits.maxMemo, 'maxMemo', 'memo entries', this.where());
    this.memo.set(index, this.top());
  }

  private memoGet(index: number): void {
    if (!this.memo.has(index)) this.fail('PICKLE_MEMO_MISSING', `memo value not found at index ${index}`);
    const v = this.memo.get(index);
    this.push(v instanceof Pending && v.resolved ? v.result : v);
  }

  private memoIndexLine(what: string): number {
    const n = parseIntLiteral(this.textLine(what));
    if (typeof n !== 'number' || n < 0) this.fail('PICKLE_TYPE', `${what} argument must be a non-negative int`);
    return n;
  }

  // ---- globals and calls ---------------------------------------------------------------------

  private global(module: string, name: string): PyGlobal | DType {
    const found = lookupGlobal(module, name);
    if (found.kind === undefined && (found.blocked || !this.record)) {
      const hint = found.blocked ? ` (module ${quote(found.module)} is blocked)` : "; nothing was executed. To keep unknown classes as inert records pass unknownClasses: 'record'";
      this.fail('PICKLE_UNSAFE_GLOBAL', `unsupported global: ${quote(`${found.module}.${name}`)} is not an allowed global${hint}`, {
        global: `${found.module}.${name}`.slice(0, 256),
      });
    }
    return found.kind === 'dtype' ? new DType(dtypeFromTorchName(name)!) : new PyGlobal(found.module, found.name, found.kind);
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
    return decodeUtf8(bytes) ?? this.fail('PICKLE_STRING', `Python 2 str is not valid UTF-8 (pass encoding: 'latin1' or 'bytes')`);
  }

  private unicode(bytes: Uint8Array): string {
    return decodeUtf8Surrogatepass(bytes) ?? this.fail('PICKLE_STRING', 'str payload is not valid UTF-8 (surrogatepass)');
  }

  private long(n: number): number | bigint {
    if (n < 0) this.fail('PICKLE_TYPE', 'LONG pickle has negative byte count');
    checkBound(n, this.limits.maxLongBytes, 'maxLongBytes', 'LONG payload', this.where());
    const bytes = this.bytes(n);
    if (n === 0) return 0;
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += bytes[i]!.toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (bytes[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return toNumberIfSafe(v);
  }

  // ---- opcodes -------------------------------------------------------------------------------

  private stop(): unknown {
    if (this.marks.length > 0) this.fail('PICKLE_MARK', `STOP with ${this.marks.length} open MARK(s)`);
    if (this.stack.length !== 1) this.fail('PICKLE_STACK_UNDERFLOW', `STOP needs exactly one value on the stack, found ${this.stack.length}`);
    if (this.pending > 0) this.fail('PICKLE_TYPE', 'an object created by REDUCE was never initialised by BUILD; the pickle is corrupt or malicious');
    const v = bare(this.stack[0]);
    if (v instanceof Pending) return this.fail('PICKLE_TYPE', 'the result was never initialised by BUILD');
    return v;
  }

  private step(op: number): void {
    switch (op) {
      case 0x28: // MARK
        if (this.marks.length >= this.limits.maxMarks) checkBound(this.marks.length + 1, this.limits.maxMarks, 'maxMarks', 'open marks', this.where());
        this.marks.push(this.stack.length);
        return;
      case 0x30: // POP (pops a MARK when the top of the stack is one, as CPython)
        if (this.marks.length > 0 && this.marks[this.marks.length - 1] === this.stack.length) this.marks.pop();
        else this.pop();
        return;
      case 0x31: // POP_MARK
        this.popMark('POP_MARK');
        return;
      case 0x32: // DUP
        this.push(this.top());
        return;
      case 0x46: {
        // FLOAT
        const v = parseFloatLiteral(this.textLine('FLOAT'));
        if (v === undefined) this.fail('PICKLE_TYPE', 'FLOAT argument is not a float literal');
        this.push(this.float(v));
        return;
      }
      case 0x49: {
        // INT
        const text = this.textLine('INT');
        const v = text === '00' ? false : text === '01' ? true : parseIntLiteral(text);
        if (v === undefined) this.fail('PICKLE_TYPE', 'INT argument is not an int literal');
        this.push(v);
        return;
      }
      case 0x4a: // BININT
        this.push(this.i32());
        return;
      case 0x4b: // BININT1
        this.push(this.u8());
        return;
      case 0x4c: {
        // LONG
        const text = this.textLine('LONG');
        const v = parseIntLiteral(text.endsWith('L') ? text.slice(0, -1) : text);
        if (v === undefined) this.fail('PICKLE_TYPE', 'LONG argument is not an int literal');
        this.push(v);
        return;
      }
      case 0x4d: // BININT2
        this.push(this.u16());
        return;
      case 0x4e: // NONE
        this.push(null);
        return;
      case 0x50: {
        // PERSID
        const bytes = this.line('maxLineBytes', this.limits.maxLineBytes, 'PERSID');
        if (bytes.some((b) => b >= 0x80)) this.fail('PICKLE_STRING', 'PERSID argument is not ASCII');
        this.push(this.persistent(decodeLatin1(bytes)));
        return;
      }
      case 0x51: // BINPERSID
        this.push(this.persistent(this.pop()));
        return;
      case 0x52: {
        // REDUCE
        const args = this.pop();
        const fn = this.pop();
        if (!(fn instanceof PyGlobal)) this.fail('PICKLE_TYPE', `REDUCE needs an allowed callable, got ${pyTypeName(fn)}`);
        if (!(args instanceof Tuple)) this.fail('PICKLE_TYPE', `REDUCE arguments must be a tuple, got ${pyTypeName(args)}`);
        this.push(this.called(callGlobal(fn, args, this, this)));
        return;
      }
      case 0x53: {
        // STRING
        const raw = this.line('maxStringBytes', this.limits.maxStringBytes * 4 + 2, 'STRING'); // escapes take up to 4 bytes per byte
        const q = raw[0];
        if (raw.length < 2 || (q !== 0x22 && q !== 0x27) || raw[raw.length - 1] !== q) this.fail('PICKLE_STRING', 'the STRING opcode argument must be quoted');
        const bytes = escapeDecode(raw.subarray(1, raw.length - 1)) ?? this.fail('PICKLE_STRING', 'invalid escape in STRING argument');
        checkBound(bytes.length, this.limits.maxStringBytes, 'maxStringBytes', 'STRING length', this.where());
        this.push(this.python2String(bytes));
        return;
      }
      case 0x54: {
        // BINSTRING
        const n = this.i32();
        if (n < 0) this.fail('PICKLE_TYPE', 'BINSTRING pickle has negative byte count');
        this.push(this.python2String(this.payload(n, 'BINSTRING')));
        return;
      }
      case 0x55: // SHORT_BINSTRING
        this.push(this.python2String(this.payload(this.u8(), 'SHORT_BINSTRING')));
        return;
      case 0x56: {
        // UNICODE
        const raw = this.line('maxStringBytes', this.limits.maxStringBytes, 'UNICODE');
        this.push(decodeRawUnicodeEscape(raw) ?? this.fail('PICKLE_STRING', 'invalid raw-unicode-escape in UNICODE argument'));
        return;
      }
      case 0x58: // BINUNICODE
        this.push(this.unicode(this.payload(this.u32(), 'BINUNICODE')));
        return;
      case 0x8c: // SHORT_BINUNICODE
        this.push(this.unicode(this.payload(this.u8(), 'SHORT_BINUNICODE')));
        return;
      case 0x8d: // BINUNICODE8
        this.push(this.unicode(this.payload(this.u64(), 'BINUNICODE8')));
        return;
      case 0x42: // BINBYTES
        this.push(this.payload(this.u32(), 'BINBYTES').slice());
        return;
      case 0x43: // SHORT_BINBYTES
        this.push(this.payload(this.u8(), 'SHORT_BINBYTES').slice());
        return;
      case 0x8e: // BINBYTES8
        this.push(this.payload(this.u64(), 'BINBYTES8').slice());
        return;
      case 0x96: // BYTEARRAY8
        this.push(this.payload(this.u64(), 'BYTEARRAY8').slice());
        return;
      case 0x61: {
        // APPEND
        const v = this.pop();
        this.append(this.top(), v);
        return;
      }
      case 0x65: {
        // APPENDS
        const items = this.popMark('APPENDS');
        const target = this.top();
        for (const item of items) this.append(target, item);
        return;
      }
      case 0x62: {
        // BUILD
        const state = this.pop();
        const target = this.pop();
        const wasPending = target instanceof Pending && !target.resolved;
        this.push(build(target, bare(state), this));
        if (wasPending) this.pending--;
        return;
      }
      case 0x63: {
        // GLOBAL
        const module = this.textLine('GLOBAL module');
        const name = this.textLine('GLOBAL name');
        this.push(this.global(module, name));
        return;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.fail('PICKLE_TYPE', `STACK_GLOBAL needs two str, got ${pyTypeName(module)} and ${pyTypeName(name)}`);
        this.push(this.global(module, name));
        return;
      }
      case 0x64: {
        // DICT
        const items = this.popMark('DICT');
        const d = this.created(new Map<unknown, unknown>());
        this.setItems(d, items);
        this.push(d);
        return;
      }
      case 0x7d: // EMPTY_DICT
        this.push(this.created(new Map()));
        return;
      case 0x73: {
        // SETITEM
        const v = this.pop();
        const k = this.pop();
        this.setItems(this.top(), [k, v]);
        return;
      }
      case 0x75: {
        // SETITEMS
        const items = this.popMark('SETITEMS');
        this.setItems(this.top(), items);
        return;
      }
      case 0x6c: {
        // LIST
        const items = this.popMark('LIST');
        const list = this.created<unknown[]>([]);
        for (const item of items) this.append(list, item);
        this.push(list);
        return;
      }
      case 0x5d: // EMPTY_LIST
        this.push(this.created([]));
        return;
      case 0x74: // TUPLE
        this.push(this.makeTuple(this.popMark('TUPLE')));
        return;
      case 0x29: // EMPTY_TUPLE
        this.push(this.makeTuple([]));
        return;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        const items: unknown[] = [];
        for (let i = 0; i < n; i++) items.unshift(this.pop());
        this.push(this.makeTuple(items));
        return;
      }
      case 0x8f: // EMPTY_SET
        this.push(this.makeSet([], true));
        return;
      case 0x90: {
        // ADDITEMS
        const items = this.popMark('ADDITEMS');
        this.addItems(this.top(), items);
        return;
      }
      case 0x91: // FROZENSET
        this.push(this.makeSet(this.popMark('FROZENSET'), false));
        return;
      case 0x67: // GET
        this.memoGet(this.memoIndexLine('GET'));
        return;
      case 0x68: // BINGET
        this.memoGet(this.u8());
        return;
      case 0x6a: // LONG_BINGET
        this.memoGet(this.u32());
        return;
      case 0x70: // PUT
        this.memoPut(this.memoIndexLine('PUT'));
        return;
      case 0x71: // BINPUT
        this.memoPut(this.u8());
        return;
      case 0x72: // LONG_BINPUT
        this.memoPut(this.u32());
        return;
      case 0x94: // MEMOIZE
        this.memoPut(this.memo.size);
        return;
      case 0x47: // BINFLOAT (big-endian)
        this.push(this.float(this.view.getFloat64(this.take(8), false)));
        return;
      case 0x80: {
        // PROTO
        const version = this.u8();
        if (this.opStart !== this.start) this.fail('PICKLE_PROTOCOL', 'PROTO is only allowed as the first opcode');
        if (version > 5) this.fail('PICKLE_PROTOCOL', `unsupported pickle protocol: ${version}`);
        return;
      }
      case 0x81: {
        // NEWOBJ
        const args = this.pop();
        const cls = this.pop();
        if (!(args instanceof Tuple)) this.fail('PICKLE_TYPE', `NEWOBJ arguments must be a tuple, got ${pyTypeName(args)}`);
        this.push(this.called(newObject(cls, args, this)));
        return;
      }
      case 0x88: // NEWTRUE
        this.push(true);
        return;
      case 0x89: // NEWFALSE
        this.push(false);
        return;
      case 0x8a: // LONG1
        this.push(this.long(this.u8()));
        return;
      case 0x8b: // LONG4
        this.push(this.long(this.i32()));
        return;
      case 0x95: {
        // FRAME
        if (this.frameEnd !== -1) this.fail('PICKLE_FRAME', 'a FRAME begins before the current frame ends');
        const length = this.u64();
        if (this.pos + length > this.data.length) this.fail('PICKLE_TRUNCATED', `pickle data was truncated: FRAME declares ${length} bytes, ${this.data.length - this.pos} left`);
        this.frameEnd = length === 0 ? -1 : this.pos + length;
        return;
      }
      case 0x69: // INST
      case 0x6f: // OBJ
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
      case 0x92: // NEWOBJ_EX
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        this.fail('PICKLE_UNSUPPORTED_OPCODE', `opcode 0x${op.toString(16)} is not supported (it calls code or needs out-of-band data)`, { opcode: op });
      default:
        this.fail('PICKLE_INVALID_OPCODE', `invalid load key, 0x${op.toString(16).padStart(2, '0')}`, { opcode: op });
    }
  }

  /** Accounts for objects REDUCE / NEWOBJ made. */
  private called(v: unknown): unknown {
    if (v instanceof Pending) this.pending++;
    if (typeof v === 'object' && v !== null) this.created(v);
    return v;
  }
}

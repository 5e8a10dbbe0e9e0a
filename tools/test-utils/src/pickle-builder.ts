/**
 * A pickle byte builder for tests: one method per opcode (named as in CPython's `pickletools`),
 * plus the value encoders CPython's pickler uses at protocol 2 and the exact opcode sequences
 * `torch.save` writes for tensors. No validation: it writes whatever it is told, so malformed
 * pickles are as easy to build as valid ones.
 *
 * @module
 */

/** Opcode bytes by pickletools name. */
export const OP = Object.freeze({
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  FLOAT: 0x46,
  INT: 0x49,
  BININT: 0x4a,
  BININT1: 0x4b,
  LONG: 0x4c,
  BININT2: 0x4d,
  NONE: 0x4e,
  PERSID: 0x50,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  STRING: 0x53,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  UNICODE: 0x56,
  BINUNICODE: 0x58,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  EMPTY_DICT: 0x7d,
  APPENDS: 0x65,
  GET: 0x67,
  BINGET: 0x68,
  INST: 0x69,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  EMPTY_LIST: 0x5d,
  OBJ: 0x6f,
  PUT: 0x70,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  EMPTY_TUPLE: 0x29,
  SETITEMS: 0x75,
  BINFLOAT: 0x47,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
} as const);

/** A storage persistent id as `torch.save` writes it. */
export interface PidSpec {
  /** Storage class under `torch` (`FloatStorage`), or `'UntypedStorage'` (written as `torch.storage`). */
  readonly storage: string;
  readonly key: string;
  readonly location: string;
  readonly numel: number;
}

/** A `_rebuild_tensor_v2` call as `torch.save` writes it. */
export interface TensorSpec extends PidSpec {
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
  readonly requiresGrad?: boolean;
}

/**
 * UTF-8 with Python's `surrogatepass`: lone surrogates become 3-byte sequences (TextEncoder would
 * replace them with U+FFFD).
 */
export function utf8Surrogatepass(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (cp >= 0xd800 && cp < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
      i++;
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}

/** Builds pickle bytes opcode by opcode. */
export class PickleBuilder {
  private readonly parts: number[] = [];

  /** Appends raw bytes (numbers, byte arrays, or Latin-1 strings). */
  raw(...items: (number | Uint8Array | string)[]): this {
    for (const item of items) {
      if (typeof item === 'number') this.parts.push(item & 0xff);
      else if (typeof item === 'string')
        for (let i = 0; i < item.length; i++) this.parts.push(item.charCodeAt(i) & 0xff);
      else for (const byte of item) this.parts.push(byte);
    }
    return this;
  }

  /** Opcode byte(s) followed by little-endian integer arguments of the given widths. */
  private le(op: number, value: number | bigint, width: number): this {
    let v = BigInt(value);
    this.parts.push(op);
    for (let i = 0; i < width; i++) {
      this.parts.push(Number(v & 0xffn));
      v >>= 8n;
    }
    return this;
  }

  /** The bytes built so far. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.parts.length;
  }

  proto(version = 2): this {
    return this.raw(OP.PROTO, version);
  }
  stop(): this {
    return this.raw(OP.STOP);
  }
  mark(): this {
    return this.raw(OP.MARK);
  }
  pop(): this {
    return this.raw(OP.POP);
  }
  popMark(): this {
    return this.raw(OP.POP_MARK);
  }
  dup(): this {
    return this.raw(OP.DUP);
  }
  none(): this {
    return this.raw(OP.NONE);
  }
  newTrue(): this {
    return this.raw(OP.NEWTRUE);
  }
  newFalse(): this {
    return this.raw(OP.NEWFALSE);
  }
  emptyTuple(): this {
    return this.raw(OP.EMPTY_TUPLE);
  }
  emptyList(): this {
    return this.raw(OP.EMPTY_LIST);
  }
  emptyDict(): this {
    return this.raw(OP.EMPTY_DICT);
  }
  emptySet(): this {
    return this.raw(OP.EMPTY_SET);
  }
  tuple(): this {
    return this.raw(OP.TUPLE);
  }
  tuple1(): this {
    return this.raw(OP.TUPLE1);
  }
  tuple2(): this {
    return this.raw(OP.TUPLE2);
  }
  tuple3(): this {
    return this.raw(OP.TUPLE3);
  }
  list(): this {
    return this.raw(OP.LIST);
  }
  dict(): this {
    return this.raw(OP.DICT);
  }
  append(): this {
    return this.raw(OP.APPEND);
  }
  appends(): this {
    return this.raw(OP.APPENDS);
  }
  setitem(): this {
    return this.raw(OP.SETITEM);
  }
  setitems(): this {
    return this.raw(OP.SETITEMS);
  }
  additems(): this {
    return this.raw(OP.ADDITEMS);
  }
  frozenset(): this {
    return this.raw(OP.FROZENSET);
  }
  reduce(): this {
    return this.raw(OP.REDUCE);
  }
  build(): this {
    return this.raw(OP.BUILD);
  }
  newobj(): this {
    return this.raw(OP.NEWOBJ);
  }
  binpersid(): this {
    return this.raw(OP.BINPERSID);
  }
  memoize(): this {
    return this.raw(OP.MEMOIZE);
  }
  stackGlobal(): this {
    return this.raw(OP.STACK_GLOBAL);
  }
  binint(n: number): this {
    return this.le(OP.BININT, n, 4);
  }
  binint1(n: number): this {
    return this.le(OP.BININT1, n, 1);
  }
  binint2(n: number): this {
    return this.le(OP.BININT2, n, 2);
  }
  binput(i: number): this {
    return this.le(OP.BINPUT, i, 1);
  }
  longBinput(i: number): this {
    return this.le(OP.LONG_BINPUT, i, 4);
  }
  binget(i: number): this {
    return this.le(OP.BINGET, i, 1);
  }
  longBinget(i: number): this {
    return this.le(OP.LONG_BINGET, i, 4);
  }
  frame(length: number | bigint): this {
    return this.le(OP.FRAME, length, 8);
  }

  /** `GLOBAL module\nname\n`. */
  global(module: string, name: string): this {
    return this.raw(OP.GLOBAL).raw(utf8Surrogatepass(`${module}\n${name}\n`));
  }

  /** A text-protocol opcode with a newline-terminated argument (`INT`, `LONG`, `FLOAT`, `GET`, `PUT`, `PERSID`, `STRING`, `UNICODE`). */
  line(op: number, text: string | Uint8Array): this {
    return this.raw(op, typeof text === 'string' ? utf8Surrogatepass(text) : text, 0x0a);
  }

  /** `BINFLOAT`: big-endian f64. */
  binfloat(x: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return this.raw(OP.BINFLOAT, b);
  }

  /** `LONG1` with exactly the given two's-complement little-endian payload. */
  long1Bytes(payload: Uint8Array): this {
    return this.raw(OP.LONG1, payload.length, payload);
  }

  /** `LONG1` / `LONG4` of `value` with the minimal payload (CPython's `encode_long`). */
  long(value: bigint, op: number = OP.LONG1): this {
    const payload = encodeLong(value);
    return op === OP.LONG1 ? this.long1Bytes(payload) : this.le(OP.LONG4, payload.length, 4).raw(payload);
  }

  /** An int the way CPython's protocol-2 pickler writes it (BININT1 / BININT2 / BININT / LONG1). */
  int(n: number | bigint): this {
    const v = BigInt(n);
    if (v >= 0n && v < 256n) return this.binint1(Number(v));
    if (v >= 0n && v < 65536n) return this.binint2(Number(v));
    if (v >= -(2n ** 31n) && v < 2n ** 31n) return this.binint(Number(v));
    return this.long(v);
  }

  /** A str as `BINUNICODE` (UTF-8, surrogatepass). */
  str(text: string): this {
    const b = utf8Surrogatepass(text);
    return this.le(OP.BINUNICODE, b.length, 4).raw(b);
  }

  /** A length-prefixed payload opcode with an explicit (possibly lying) declared length. */
  sized(
    op: number,
    declared: number | bigint,
    width: 1 | 4 | 8,
    payload: Uint8Array | string = new Uint8Array(0),
  ): this {
    return this.le(op, declared, width).raw(payload);
  }

  /** Protocol-2 `bytes`: `_codecs.encode(latin1_text, 'latin1')`, or `bytes()` when empty. */
  pyBytes(data: Uint8Array): this {
    if (data.length === 0) return this.global('__builtin__', 'bytes').emptyTuple().reduce();
    return this.global('_codecs', 'encode')
      .str(String.fromCharCode(...data))
      .str('latin1')
      .tuple2()
      .reduce();
  }

  /** `collections.OrderedDict()`. */
  orderedDict(): this {
    return this.global('collections', 'OrderedDict').emptyTuple().reduce();
  }

  /** The persistent id tuple plus `BINPERSID`, as `torch.save` writes it (without memo opcodes). */
  persistentId(pid: PidSpec): this {
    this.mark().str('storage');
    if (pid.storage === 'UntypedStorage') this.global('torch.storage', 'UntypedStorage');
    else this.global('torch', pid.storage);
    return this.str(pid.key).str(pid.location).int(pid.numel).tuple().binpersid();
  }

  /** A tuple of ints (`EMPTY_TUPLE`, `TUPLE1..3` or `MARK … TUPLE`, as CPython chooses). */
  intTuple(items: readonly number[]): this {
    if (items.length === 0) return this.emptyTuple();
    if (items.length > 3) this.mark();
    for (const v of items) this.int(v);
    return items.length > 3 ? this.tuple() : this.raw(OP.TUPLE1 + items.length - 1);
  }

  /** `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())` + REDUCE. */
  tensorV2(t: TensorSpec): this {
    this.global('torch._utils', '_rebuild_tensor_v2')
      .mark()
      .persistentId(t)
      .int(t.offset)
      .intTuple(t.size)
      .intTuple(t.stride);
    this.raw(t.requiresGrad === true ? OP.NEWTRUE : OP.NEWFALSE);
    return this.orderedDict().tuple().reduce();
  }
}

/** CPython's `encode_long`: minimal two's-complement little-endian bytes (0 → empty). */
function encodeLong(value: bigint): Uint8Array {
  if (value === 0n) return new Uint8Array(0);
  const out: number[] = [];
  let v = value;
  for (;;) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
    const signBit = (out[out.length - 1]! & 0x80) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) break;
  }
  return Uint8Array.from(out);
}

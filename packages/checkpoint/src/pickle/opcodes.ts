/**
 * The pickle opcodes of protocols 0–5 as CPython's `Lib/pickletools.py` describes them (`opcodes`:
 * name, byte, argument descriptor, protocol), and the one decoder of their arguments. The
 * unpickler runs on {@link PickleDecoder}, the pickler takes its bytes from {@link OP}, and
 * {@link pickleOps} lists a pickle's opcodes with their byte spans.
 *
 * @module
 */
import { CheckpointError, type CheckpointErrorCode, type ErrorWhere } from '../errors.js';
import { checkBound, DEFAULT_LIMITS, type Limits } from '../limits.js';
import { u64 } from '../little-endian.js';
import { toNumberIfSafe } from './text.js';

/**
 * The argument of an opcode, named as pickletools' `ArgumentDescriptor`s: little-endian ints
 * (`uint1`–`uint8`, `int4`), a big-endian double (`float8`), two's-complement longs with a 1- or
 * 4-byte length (`long1`, `long4`), payloads with a 1-, 4- or 8-byte length (`string1`, …,
 * `unicodestring8`), newline-terminated text (`…nl`, two lines for `stringnl_noescape_pair`), or
 * nothing (`none`).
 */
export type ArgumentKind =
  | 'uint1'
  | 'uint2'
  | 'uint4'
  | 'uint8'
  | 'int4'
  | 'long1'
  | 'long4'
  | 'string1'
  | 'string4'
  | 'bytes1'
  | 'bytes4'
  | 'bytes8'
  | 'bytearray8'
  | 'unicodestring1'
  | 'unicodestring4'
  | 'unicodestring8'
  | 'unicodestringnl'
  | 'stringnl'
  | 'stringnl_noescape'
  | 'stringnl_noescape_pair'
  | 'decimalnl_short'
  | 'decimalnl_long'
  | 'floatnl'
  | 'float8'
  | 'none';

const TABLE = [
  ['INT', 0x49, 'decimalnl_short', 0],
  ['BININT', 0x4a, 'int4', 1],
  ['BININT1', 0x4b, 'uint1', 1],
  ['BININT2', 0x4d, 'uint2', 1],
  ['LONG', 0x4c, 'decimalnl_long', 0],
  ['LONG1', 0x8a, 'long1', 2],
  ['LONG4', 0x8b, 'long4', 2],
  ['STRING', 0x53, 'stringnl', 0],
  ['BINSTRING', 0x54, 'string4', 1],
  ['SHORT_BINSTRING', 0x55, 'string1', 1],
  ['BINBYTES', 0x42, 'bytes4', 3],
  ['SHORT_BINBYTES', 0x43, 'bytes1', 3],
  ['BINBYTES8', 0x8e, 'bytes8', 4],
  ['BYTEARRAY8', 0x96, 'bytearray8', 5],
  ['NEXT_BUFFER', 0x97, 'none', 5],
  ['READONLY_BUFFER', 0x98, 'none', 5],
  ['NONE', 0x4e, 'none', 0],
  ['NEWTRUE', 0x88, 'none', 2],
  ['NEWFALSE', 0x89, 'none', 2],
  ['UNICODE', 0x56, 'unicodestringnl', 0],
  ['SHORT_BINUNICODE', 0x8c, 'unicodestring1', 4],
  ['BINUNICODE', 0x58, 'unicodestring4', 1],
  ['BINUNICODE8', 0x8d, 'unicodestring8', 4],
  ['FLOAT', 0x46, 'floatnl', 0],
  ['BINFLOAT', 0x47, 'float8', 1],
  ['EMPTY_LIST', 0x5d, 'none', 1],
  ['APPEND', 0x61, 'none', 0],
  ['APPENDS', 0x65, 'none', 1],
  ['LIST', 0x6c, 'none', 0],
  ['EMPTY_TUPLE', 0x29, 'none', 1],
  ['TUPLE', 0x74, 'none', 0],
  ['TUPLE1', 0x85, 'none', 2],
  ['TUPLE2', 0x86, 'none', 2],
  ['TUPLE3', 0x87, 'none', 2],
  ['EMPTY_DICT', 0x7d, 'none', 1],
  ['DICT', 0x64, 'none', 0],
  ['SETITEM', 0x73, 'none', 0],
  ['SETITEMS', 0x75, 'none', 1],
  ['EMPTY_SET', 0x8f, 'none', 4],
  ['ADDITEMS', 0x90, 'none', 4],
  ['FROZENSET', 0x91, 'none', 4],
  ['POP', 0x30, 'none', 0],
  ['DUP', 0x32, 'none', 0],
  ['MARK', 0x28, 'none', 0],
  ['POP_MARK', 0x31, 'none', 1],
  ['GET', 0x67, 'decimalnl_short', 0],
  ['BINGET', 0x68, 'uint1', 1],
  ['LONG_BINGET', 0x6a, 'uint4', 1],
  ['PUT', 0x70, 'decimalnl_short', 0],
  ['BINPUT', 0x71, 'uint1', 1],
  ['LONG_BINPUT', 0x72, 'uint4', 1],
  ['MEMOIZE', 0x94, 'none', 4],
  ['EXT1', 0x82, 'uint1', 2],
  ['EXT2', 0x83, 'uint2', 2],
  ['EXT4', 0x84, 'int4', 2],
  ['GLOBAL', 0x63, 'stringnl_noescape_pair', 0],
  ['STACK_GLOBAL', 0x93, 'none', 4],
  ['REDUCE', 0x52, 'none', 0],
  ['BUILD', 0x62, 'none', 0],
  ['INST', 0x69, 'stringnl_noescape_pair', 0],
  ['OBJ', 0x6f, 'none', 1],
  ['NEWOBJ', 0x81, 'none', 2],
  ['NEWOBJ_EX', 0x92, 'none', 4],
  ['PROTO', 0x80, 'uint1', 2],
  ['STOP', 0x2e, 'none', 0],
  ['FRAME', 0x95, 'uint8', 4],
  ['PERSID', 0x50, 'stringnl_noescape', 0],
  ['BINPERSID', 0x51, 'none', 1],
] as const satisfies readonly (readonly [string, number, ArgumentKind, number])[];

/** The name of a pickle opcode (`'BINUNICODE'`, `'STACK_GLOBAL'`, …). */
export type OpcodeName = (typeof TABLE)[number][0];

/** One row of pickletools' `opcodes`. */
export interface OpcodeInfo {
  readonly name: OpcodeName;
  /** The opcode byte. */
  readonly code: number;
  readonly arg: ArgumentKind;
  /** The first protocol that has it. */
  readonly proto: number;
}

/** Every opcode of protocols 0–5, in pickletools' order. */
export const OPCODES: readonly OpcodeInfo[] = TABLE.map(([name, code, arg, proto]) => ({ name, code, arg, proto }));

/** Opcode bytes by name. */
export const OP = Object.fromEntries(TABLE.map(([name, code]) => [name, code])) as {
  readonly [K in OpcodeName]: number;
};

const BY_CODE: readonly (OpcodeInfo | undefined)[] = Array.from({ length: 256 }, (_, code) =>
  OPCODES.find((o) => o.code === code),
);

// How PickleDecoder.argument reads each kind (one number per opcode byte, 0 for no opcode).
const INVALID = 0;
const NO_ARG = 1;
const UINT1 = 2;
const UINT2 = 3;
const UINT4 = 4;
const UINT8 = 5;
const INT4 = 6;
const FLOAT8 = 7;
const LONG1 = 8;
const LONG4 = 9;
const COUNTED1 = 10;
const COUNTED4 = 11;
const COUNTED8 = 12;
const SIGNED_COUNTED4 = 13;
const LINE = 14;
const ESCAPED_LINE = 15;
const UNICODE_LINE = 16;
const LINE_PAIR = 17;

const SHAPES: Readonly<Record<ArgumentKind, number>> = {
  none: NO_ARG,
  uint1: UINT1,
  uint2: UINT2,
  uint4: UINT4,
  uint8: UINT8,
  int4: INT4,
  float8: FLOAT8,
  long1: LONG1,
  long4: LONG4,
  string1: COUNTED1,
  bytes1: COUNTED1,
  unicodestring1: COUNTED1,
  string4: SIGNED_COUNTED4,
  bytes4: COUNTED4,
  unicodestring4: COUNTED4,
  bytes8: COUNTED8,
  bytearray8: COUNTED8,
  unicodestring8: COUNTED8,
  stringnl: ESCAPED_LINE,
  unicodestringnl: UNICODE_LINE,
  stringnl_noescape: LINE,
  decimalnl_short: LINE,
  decimalnl_long: LINE,
  floatnl: LINE,
  stringnl_noescape_pair: LINE_PAIR,
};

const SHAPE = Uint8Array.from(BY_CODE, (o) => (o === undefined ? INVALID : SHAPES[o.arg]));
const NAME: readonly string[] = BY_CODE.map((o) => o?.name ?? '');

const NEWLINE = 0x0a;
const EMPTY = new Uint8Array(0);

/** The limits that bound argument decoding. */
export type DecodeLimits = Pick<Limits, 'maxStringBytes' | 'maxLongBytes' | 'maxLineBytes'>;

/**
 * Reads a pickle one opcode at a time: {@link opcode} reads the opcode byte, {@link argument} its
 * argument (returning a number, or setting {@link bytes} and {@link second}). Every read is bounds-checked
 * (`PICKLE_TRUNCATED`), kept inside the current `FRAME` (`PICKLE_FRAME`) and under `limits`
 * (`PICKLE_LIMIT`) before anything is copied; errors carry the opcode's offset. Nothing is
 * allocated per opcode: payloads and lines are views of the data.
 */
export class PickleDecoder {
  /** Offset of the opcode last read. */
  start: number;
  /** Offset of the next byte to read. */
  pos: number;
  /** The opcode last read. */
  op = 0;
  /**
   * Argument of the other kinds, a view of the data: a payload (the two's complement bytes of
   * `long1` / `long4`), a line without its newline, or the first line of a pair.
   */
  bytes: Uint8Array = EMPTY;
  /** The second line of a `stringnl_noescape_pair`. */
  second: Uint8Array = EMPTY;
  private frameEnd = -1;
  private readonly view: DataView;

  /**
   * @param start - offset of its first opcode.
   * @param entry - archive entry, for errors.
   * @param baseOffset - added to offsets in errors.
   */
  constructor(
    readonly data: Uint8Array,
    start: number,
    private readonly limits: DecodeLimits,
    private readonly entry?: string,
    private readonly baseOffset = 0,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.start = start;
    this.pos = start;
  }

  /** Entry and offset of the opcode last read. */
  where(): ErrorWhere {
    return { entry: this.entry, offset: this.baseOffset + this.start };
  }

  /**
   * Reads the next opcode byte.
   *
   * @throws CheckpointError `PICKLE_TRUNCATED` at the end of the data, `PICKLE_INVALID_OPCODE`
   *   for a byte that is no opcode.
   */
  opcode(): number {
    if (this.pos === this.frameEnd) this.frameEnd = -1;
    this.start = this.pos;
    if (this.pos >= this.data.length) this.fail('PICKLE_TRUNCATED', 'pickle data was truncated (no STOP opcode)');
    const op = this.data[this.pos++]!;
    if (SHAPE[op] === INVALID)
      this.fail('PICKLE_INVALID_OPCODE', `invalid load key, 0x${op.toString(16).padStart(2, '0')}`, { opcode: op });
    this.op = op;
    return op;
  }

  /**
   * Reads the argument of the opcode last read, as its {@link ArgumentKind} says, and returns it
   * for the `uint*`, `int4` and `float8` kinds (0 for the others, whose argument goes to
   * {@link bytes} and {@link second}; a number is returned rather than stored so that small ints
   * stay small ints). A `FRAME` also opens its frame.
   *
   * @throws CheckpointError `PICKLE_TRUNCATED`, `PICKLE_FRAME`, `PICKLE_LIMIT`, `PICKLE_TYPE`
   *   (a negative `string4` / `long4` length).
   */
  argument(): number {
    const { view } = this;
    switch (SHAPE[this.op]) {
      case UINT1:
        return this.data[this.take(1)]!;
      case UINT2:
        return view.getUint16(this.take(2), true);
      case UINT4:
        return view.getUint32(this.take(4), true);
      case UINT8: {
        if (this.op === OP.FRAME && this.frameEnd !== -1)
          this.fail('PICKLE_FRAME', 'a FRAME begins before the current frame ends');
        const n = u64(view, this.take(8));
        if (this.op === OP.FRAME) this.openFrame(n);
        return n;
      }
      case INT4:
        return view.getInt32(this.take(4), true);
      case FLOAT8:
        return view.getFloat64(this.take(8), false);
      case LONG1:
        this.bytes = this.long(this.data[this.take(1)]!);
        break;
      case LONG4:
        this.bytes = this.long(view.getInt32(this.take(4), true));
        break;
      case COUNTED1:
        this.bytes = this.payload(this.data[this.take(1)]!);
        break;
      case COUNTED4:
        this.bytes = this.payload(view.getUint32(this.take(4), true));
        break;
      case COUNTED8:
        this.bytes = this.payload(u64(view, this.take(8)));
        break;
      case SIGNED_COUNTED4: {
        const n = view.getInt32(this.take(4), true);
        if (n < 0) this.fail('PICKLE_TYPE', `${NAME[this.op]} pickle has negative byte count`);
        this.bytes = this.payload(n);
        break;
      }
      case LINE:
        this.bytes = this.line('maxLineBytes', this.limits.maxLineBytes, '');
        break;
      case ESCAPED_LINE:
        this.bytes = this.line('maxStringBytes', this.limits.maxStringBytes * 4 + 2, ''); // escapes take up to 4 bytes per byte
        break;
      case UNICODE_LINE:
        this.bytes = this.line('maxStringBytes', this.limits.maxStringBytes, '');
        break;
      case LINE_PAIR:
        this.bytes = this.line('maxLineBytes', this.limits.maxLineBytes, ' module');
        this.second = this.line('maxLineBytes', this.limits.maxLineBytes, ' name');
        break;
    }
    return 0;
  }

  /** The argument last read, as {@link pickleOps} gives it; `value` is what {@link argument} returned. */
  decoded(value: number): PickleArgument {
    switch (SHAPE[this.op]) {
      case NO_ARG:
        return undefined;
      case UINT1:
      case UINT2:
      case UINT4:
      case UINT8:
      case INT4:
      case FLOAT8:
        return value;
      case LONG1:
      case LONG4:
        return decodeLong(this.bytes);
      case LINE_PAIR:
        return [this.bytes, this.second];
      default:
        return this.bytes;
    }
  }

  /** Throws `code` at the opcode last read (its entry and offset). */
  fail(code: CheckpointErrorCode, message: string, details?: Record<string, unknown>): never {
    throw new CheckpointError(code, message, { ...this.where(), details });
  }

  /** Advances over `n` bytes of the current opcode and returns where they start. */
  private take(n: number): number {
    const at = this.pos;
    const limit = this.frameEnd === -1 ? this.data.length : this.frameEnd;
    if (at + n > limit) {
      if (at + n > this.data.length)
        this.fail('PICKLE_TRUNCATED', `pickle data was truncated: ${n} bytes needed, ${this.data.length - at} left`);
      this.fail('PICKLE_FRAME', `opcode argument crosses the end of its FRAME`);
    }
    this.pos = at + n;
    return at;
  }

  private bytesOf(n: number): Uint8Array {
    const at = this.take(n);
    return this.data.subarray(at, at + n);
  }

  /** Length-prefixed payload: bounds-checked against the remaining bytes and `maxStringBytes` before any copy. */
  private payload(length: number): Uint8Array {
    if (this.pos + length > this.data.length) {
      this.fail(
        'PICKLE_TRUNCATED',
        `pickle data was truncated: ${NAME[this.op]} declares ${length} bytes, ${this.data.length - this.pos} left`,
      );
    }
    if (length > this.limits.maxStringBytes)
      checkBound(length, this.limits.maxStringBytes, 'maxStringBytes', `${NAME[this.op]} length`, this.where());
    return this.bytesOf(length);
  }

  private long(n: number): Uint8Array {
    if (n < 0) this.fail('PICKLE_TYPE', 'LONG pickle has negative byte count');
    checkBound(n, this.limits.maxLongBytes, 'maxLongBytes', 'LONG payload', this.where());
    return this.bytesOf(n);
  }

  /** A newline-terminated argument; `part` names which line of a pair, for messages. */
  private line(limit: 'maxLineBytes' | 'maxStringBytes', max: number, part: string): Uint8Array {
    const end = this.frameEnd === -1 ? this.data.length : this.frameEnd;
    const stop = Math.min(end, this.pos + max + 1);
    const i = this.data.subarray(this.pos, stop).indexOf(NEWLINE);
    if (i === -1) {
      const what = `${NAME[this.op]}${part}`;
      if (stop === this.pos + max + 1) checkBound(max + 1, max, limit, `${what} line length`, this.where());
      if (end === this.data.length) this.fail('PICKLE_TRUNCATED', `pickle data was truncated inside a ${what} line`);
      this.fail('PICKLE_FRAME', `${what} line crosses the end of its FRAME`);
    }
    const out = this.data.subarray(this.pos, this.pos + i);
    this.pos += i + 1;
    return out;
  }

  private openFrame(length: number): void {
    if (this.pos + length > this.data.length) {
      this.fail(
        'PICKLE_TRUNCATED',
        `pickle data was truncated: FRAME declares ${length} bytes, ${this.data.length - this.pos} left`,
      );
    }
    this.frameEnd = length === 0 ? -1 : this.pos + length;
  }
}

/**
 * pickletools' `decode_long`: little-endian two's complement, `0` for no bytes. Safe integers are
 * numbers, others `bigint`.
 */
export function decodeLong(bytes: Uint8Array): number | bigint {
  const n = bytes.length;
  if (n === 0) return 0;
  let hex = '';
  for (let i = n - 1; i >= 0; i--) hex += bytes[i]!.toString(16).padStart(2, '0');
  let v = BigInt(`0x${hex}`);
  if (bytes[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
  return toNumberIfSafe(v);
}

/**
 * An opcode's argument as {@link pickleOps} gives it: a number for `uint*`, `int4`, `float8`; a
 * number or `bigint` for `long1` / `long4`; the line (newline excluded) or the payload, a view
 * of the data, for the text and length-prefixed kinds; both lines for `stringnl_noescape_pair`;
 * `undefined` for `none`.
 */
export type PickleArgument = number | bigint | Uint8Array | readonly [Uint8Array, Uint8Array] | undefined;

/** One opcode of a pickle, where it lies and its argument. */
export interface PickleOp {
  /** Offset of the opcode byte. */
  readonly offset: number;
  readonly opcode: OpcodeInfo;
  readonly argument: PickleArgument;
  /** Offset just past the argument. */
  readonly end: number;
}

/** Options of {@link pickleOps}. */
export interface PickleOpsOptions {
  /** String, long and line limits (default: those of `DEFAULT_LIMITS`). */
  readonly limits?: DecodeLimits;
  /** Archive entry, for errors. */
  readonly entry?: string;
  /** Added to offsets in errors. */
  readonly offset?: number;
}

/**
 * The opcodes of the pickle at `start`, up to and including its `STOP`, decoded by
 * {@link PickleDecoder} (pickletools' `genops`, with the same checks as the unpickler's reads).
 * Offsets are relative to `data`.
 *
 * @throws CheckpointError `PICKLE_TRUNCATED`, `PICKLE_INVALID_OPCODE`, `PICKLE_FRAME`,
 *   `PICKLE_LIMIT`, `PICKLE_TYPE` (offsets plus `options.offset`).
 */
export function* pickleOps(
  data: Uint8Array,
  start = 0,
  options: PickleOpsOptions = {},
): Generator<PickleOp, void, undefined> {
  const d = new PickleDecoder(data, start, options.limits ?? DEFAULT_LIMITS, options.entry, options.offset);
  for (;;) {
    const op = d.opcode();
    const value = d.argument();
    yield { offset: d.start, opcode: BY_CODE[op]!, argument: d.decoded(value), end: d.pos };
    if (op === OP.STOP) return;
  }
}

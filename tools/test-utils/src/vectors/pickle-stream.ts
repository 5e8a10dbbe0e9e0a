/**
 * Vectors 35–54: pickle stream structure and resources. Every pickle is
 * the `data.pkl` of an otherwise valid torch zip.
 *
 * @module
 */
import { OP, PickleBuilder } from '../pickle-builder.js';
import {
  arangeBytes,
  checkpointZip,
  concat,
  floatTensor,
  latin1,
  pickleZip,
  validCheckpoint,
  type HostileCase,
} from './common.js';

/** A pickle-level case: `pkl` as `data.pkl` of a torch zip. */
function inZip(vector: number, name: string, pkl: Uint8Array, rest: Partial<HostileCase> = {}): HostileCase {
  return { vector, name, bytes: pickleZip(pkl).bytes, ...rest };
}

/** `PROTO 2` + `body` (a Latin-1 byte string). */
const p2 = (body: string): Uint8Array => latin1(`\x80\x02${body}`);

/** Vector 35: every proper prefix of a valid `data.pkl`, re-zipped: `PICKLE_TRUNCATED` each time. */
export function truncations(): HostileCase[] {
  const { pkl } = validCheckpoint();
  return Array.from({ length: pkl.length }, (_, n) =>
    inZip(35, `prefix ${n}`, pkl.slice(0, n), { code: 'PICKLE_TRUNCATED' }),
  );
}

/**
 * What `PROTO 2, <op>, STOP` does for each defined opcode (`'ok'`: a value), by pickle semantics:
 * an opcode with an argument swallows the STOP byte and runs out of data; a consumer finds the
 * stack empty; a MARK consumer finds no MARK.
 */
const ONE_OPCODE: Readonly<Record<number, string>> = {
  [OP.MARK]: 'PICKLE_MARK',
  [OP.STOP]: 'PICKLE_STACK_UNDERFLOW',
  [OP.POP]: 'PICKLE_STACK_UNDERFLOW',
  [OP.POP_MARK]: 'PICKLE_MARK',
  [OP.DUP]: 'PICKLE_STACK_UNDERFLOW',
  [OP.FLOAT]: 'PICKLE_TRUNCATED',
  [OP.INT]: 'PICKLE_TRUNCATED',
  [OP.BININT]: 'PICKLE_TRUNCATED',
  [OP.BININT1]: 'PICKLE_TRUNCATED',
  [OP.LONG]: 'PICKLE_TRUNCATED',
  [OP.BININT2]: 'PICKLE_TRUNCATED',
  [OP.NONE]: 'ok',
  [OP.PERSID]: 'PICKLE_TRUNCATED',
  [OP.BINPERSID]: 'PICKLE_STACK_UNDERFLOW',
  [OP.REDUCE]: 'PICKLE_STACK_UNDERFLOW',
  [OP.STRING]: 'PICKLE_TRUNCATED',
  [OP.BINSTRING]: 'PICKLE_TRUNCATED',
  [OP.SHORT_BINSTRING]: 'PICKLE_TRUNCATED',
  [OP.UNICODE]: 'PICKLE_TRUNCATED',
  [OP.BINUNICODE]: 'PICKLE_TRUNCATED',
  [OP.APPEND]: 'PICKLE_STACK_UNDERFLOW',
  [OP.BUILD]: 'PICKLE_STACK_UNDERFLOW',
  [OP.GLOBAL]: 'PICKLE_TRUNCATED',
  [OP.DICT]: 'PICKLE_MARK',
  [OP.EMPTY_DICT]: 'ok',
  [OP.APPENDS]: 'PICKLE_MARK',
  [OP.GET]: 'PICKLE_TRUNCATED',
  [OP.BINGET]: 'PICKLE_MEMO_MISSING',
  [OP.INST]: 'PICKLE_UNSUPPORTED_OPCODE',
  [OP.LONG_BINGET]: 'PICKLE_TRUNCATED',
  [OP.LIST]: 'PICKLE_MARK',
  [OP.EMPTY_LIST]: 'ok',
  [OP.OBJ]: 'PICKLE_UNSUPPORTED_OPCODE',
  [OP.PUT]: 'PICKLE_TRUNCATED',
  [OP.BINPUT]: 'PICKLE_STACK_UNDERFLOW',
  [OP.LONG_BINPUT]: 'PICKLE_TRUNCATED',
  [OP.SETITEM]: 'PICKLE_STACK_UNDERFLOW',
  [OP.TUPLE]: 'PICKLE_MARK',
  [OP.EMPTY_TUPLE]: 'ok',
  [OP.SETITEMS]: 'PICKLE_MARK',
  [OP.BINFLOAT]: 'PICKLE_TRUNCATED',
  [OP.PROTO]: 'PICKLE_PROTOCOL',
  [OP.NEWOBJ]: 'PICKLE_STACK_UNDERFLOW',
  [OP.EXT1]: 'PICKLE_UNSUPPORTED_OPCODE',
  [OP.EXT2]: 'PICKLE_UNSUPPORTED_OPCODE',
  [OP.EXT4]: 'PICKLE_UNSUPPORTED_OPCODE',
  [OP.TUPLE1]: 'PICKLE_STACK_UNDERFLOW',
  [OP.TUPLE2]: 'PICKLE_STACK_UNDERFLOW',
  [OP.TUPLE3]: 'PICKLE_STACK_UNDERFLOW',
  [OP.NEWTRUE]: 'ok',
  [OP.NEWFALSE]: 'ok',
  [OP.LONG1]: 'PICKLE_TRUNCATED',
  [OP.LONG4]: 'PICKLE_TRUNCATED',
  [OP.BINBYTES]: 'PICKLE_TRUNCATED',
  [OP.SHORT_BINBYTES]: 'PICKLE_TRUNCATED',
  [OP.SHORT_BINUNICODE]: 'PICKLE_TRUNCATED',
  [OP.BINUNICODE8]: 'PICKLE_TRUNCATED',
  [OP.BINBYTES8]: 'PICKLE_TRUNCATED',
  [OP.EMPTY_SET]: 'ok',
  [OP.ADDITEMS]: 'PICKLE_MARK',
  [OP.FROZENSET]: 'PICKLE_MARK',
  [OP.NEWOBJ_EX]: 'PICKLE_UNSUPPORTED_OPCODE',
  [OP.STACK_GLOBAL]: 'PICKLE_STACK_UNDERFLOW',
  [OP.MEMOIZE]: 'PICKLE_STACK_UNDERFLOW',
  [OP.FRAME]: 'PICKLE_TRUNCATED',
  [OP.BYTEARRAY8]: 'PICKLE_TRUNCATED',
  [OP.NEXT_BUFFER]: 'PICKLE_UNSUPPORTED_OPCODE',
  [OP.READONLY_BUFFER]: 'PICKLE_UNSUPPORTED_OPCODE',
};

/**
 * Vector 36: `PROTO 2, op, STOP` for every byte. Undefined bytes: `PICKLE_INVALID_OPCODE`; opcodes
 * that call code or need out-of-band data: `PICKLE_UNSUPPORTED_OPCODE`; the rest as pickle
 * semantics say (the five that push a value load).
 */
export function everyOpcode(): HostileCase[] {
  return Array.from({ length: 256 }, (_, op) => {
    const expected = ONE_OPCODE[op] ?? 'PICKLE_INVALID_OPCODE';
    const name = `op 0x${op.toString(16).padStart(2, '0')}`;
    return inZip(
      36,
      name,
      Uint8Array.of(0x80, 2, op, OP.STOP),
      expected === 'ok' ? { accepted: 'the opcode pushes one value, so STOP returns it' } : { code: expected },
    );
  });
}

/** Vectors 37–39: lengths beyond the data (checked before allocating), sign confusion, big ints. */
export function lengthVectors(): HostileCase[] {
  const sized = (op: number, declared: number | bigint, width: 1 | 4 | 8, tail = 'abc') =>
    new PickleBuilder().proto(2).sized(op, declared, width, tail).stop().bytes();
  // built by concatenation: PickleBuilder.raw spreads its argument, which overflows the stack at 1 MiB
  const long4 = concat(
    new PickleBuilder()
      .proto(2)
      .sized(OP.LONG4, 2 ** 20, 4)
      .bytes(),
    new Uint8Array(2 ** 20).fill(1),
    latin1('.'),
  );
  return [
    inZip(37, 'BINUNICODE 2^32-1', sized(OP.BINUNICODE, 0xffffffff, 4), { code: 'PICKLE_TRUNCATED' }),
    inZip(37, 'BINBYTES 2^31-1', sized(OP.BINBYTES, 0x7fffffff, 4), { code: 'PICKLE_TRUNCATED' }),
    inZip(37, 'BINUNICODE8 2^62', sized(OP.BINUNICODE8, 2n ** 62n, 8), { code: 'PICKLE_TRUNCATED' }),
    inZip(37, 'BINBYTES8 2^63+5', sized(OP.BINBYTES8, 2n ** 63n + 5n, 8), { code: 'PICKLE_TRUNCATED' }),
    inZip(37, 'BYTEARRAY8 2^40', sized(OP.BYTEARRAY8, 2n ** 40n, 8), { code: 'PICKLE_TRUNCATED' }),
    inZip(37, 'LONG4 2^31-1', sized(OP.LONG4, 0x7fffffff, 4), {
      code: 'PICKLE_LIMIT',
      details: { limit: 'maxLongBytes' },
    }),
    inZip(
      37,
      'FRAME 2^40',
      new PickleBuilder()
        .proto(4)
        .frame(2n ** 40n)
        .none()
        .stop()
        .bytes(),
      { code: 'PICKLE_TRUNCATED' },
    ),
    inZip(38, 'BINUNICODE 0x80000000', sized(OP.BINUNICODE, 0x80000000, 4), { code: 'PICKLE_TRUNCATED' }),
    inZip(38, 'LONG4 -1', sized(OP.LONG4, 0xffffffff, 4), { code: 'PICKLE_TYPE' }),
    inZip(38, 'BINSTRING -1', sized(OP.BINSTRING, 0xffffffff, 4), { code: 'PICKLE_TYPE' }),
    inZip(38, 'LONG_BINGET 2^32-1', new PickleBuilder().proto(2).longBinget(0xffffffff).stop().bytes(), {
      code: 'PICKLE_MEMO_MISSING',
    }),
    inZip(39, 'LONG1 2^64', p2(`\x8a\x09${'\x00'.repeat(8)}\x01.`), { accepted: '2^64 as a bigint' }),
    inZip(39, 'LONG1 -2^63', p2(`\x8a\x08${'\x00'.repeat(7)}\x80.`), { accepted: '-2^63 as a bigint' }),
    inZip(39, 'LONG1 0', p2('\x8a\x00.'), { accepted: 'LONG1 with no payload is 0' }),
    inZip(39, 'LONG4 1 MiB payload', long4, { code: 'PICKLE_LIMIT', details: { limit: 'maxLongBytes' } }),
  ];
}

/**
 * Vectors 40–45: sparse memo, missing memo, MARK/STOP strictness, underflow in every consumer,
 * PROTO anomalies, trailing data.
 */
export function stackVectors(): HostileCase[] {
  const under = (body: string, code = 'PICKLE_STACK_UNDERFLOW') =>
    inZip(43, `underflow ${JSON.stringify(body)}`, p2(`${body}.`), { code });
  return [
    inZip(40, 'LONG_BINPUT 2^32-1', p2('Nr\xff\xff\xff\xff.'), {
      accepted: 'the memo is a Map: a sparse index costs one entry',
    }),
    inZip(41, 'BINGET 5 of an empty memo', p2('h\x05.'), { code: 'PICKLE_MEMO_MISSING' }),
    inZip(42, 'TUPLE without MARK', p2('t.'), { code: 'PICKLE_MARK' }),
    inZip(42, 'STOP with an open MARK', p2('N(N.'), { code: 'PICKLE_MARK' }),
    inZip(42, 'STOP with two values', p2('NN.'), { code: 'PICKLE_STACK_UNDERFLOW' }),
    inZip(42, 'STOP with an empty stack', p2('.'), { code: 'PICKLE_STACK_UNDERFLOW' }),
    inZip(42, 'STOP after a lone MARK', p2('(.'), { code: 'PICKLE_MARK' }),
    ...[
      'a',
      's',
      '\x85',
      '\x86',
      '\x87',
      'R',
      'b',
      '\x81',
      'Q',
      'q\x00',
      'r\x00\x00\x00\x00',
      '\x93',
      '0',
      '2',
      '\x94',
    ].map((op) => under(op)),
    ...['e', 'u', 'l', 'd', '\x90', '\x91', '1'].map((op) => under(op, 'PICKLE_MARK')),
    ...['a', 's', '\x86', '\x87', 'R', 'b', '\x81', '\x93'].map((op) =>
      inZip(43, `underflow ${JSON.stringify(`N${op}`)}`, p2(`N${op}.`), { code: 'PICKLE_STACK_UNDERFLOW' }),
    ),
    inZip(43, 'TUPLE1 of None', p2('N\x85.'), { accepted: 'one value is what TUPLE1 needs: the result is (None,)' }),
    inZip(43, 'BINPERSID of None', p2('NQ.'), { code: 'STORAGE_BAD_PID' }),
    inZip(44, 'PROTO 6', latin1('\x80\x06N.'), { code: 'PICKLE_PROTOCOL' }),
    inZip(44, 'PROTO not first', latin1('N\x80\x02.'), { code: 'PICKLE_PROTOCOL' }),
    inZip(44, 'PROTO twice', latin1('\x80\x02N\x80\x05.'), { code: 'PICKLE_PROTOCOL' }),
    inZip(44, 'PROTO 5', latin1('\x80\x05N.'), {
      accepted:
        'protocols 3-5 are read (torch.save(pickle_protocol=4) files exist); every opcode is still bounded and allow-listed',
    }),
    inZip(45, 'os.system after STOP', concat(validCheckpoint().pkl, latin1("cos\nsystem\n(S'id'\ntR.")), {
      code: 'PICKLE_TRAILING_DATA',
      secret: 'system',
    }),
  ];
}

/** Vectors 46–49: deep nesting, stack flood, memo "billion laughs", cycles. */
export function resourceVectors(): HostileCase[] {
  const deep = concat(latin1('\x80\x02)'), new Uint8Array(1_000_000).fill(OP.TUPLE1), latin1('.'));
  const marks = concat(
    latin1('\x80\x02'),
    new Uint8Array(100_000).fill(OP.MARK),
    new Uint8Array(100_000).fill(OP.TUPLE),
    latin1('.'),
  );
  const flood = concat(latin1('\x80\x02'), new Uint8Array(10_000_000).fill(OP.NONE), latin1('.'));
  let laughs = '\x80\x02U\x03lol';
  for (let i = 0; i < 64; i++) laughs += `q${String.fromCharCode(i)}h${String.fromCharCode(i)}\x86`;
  return [
    inZip(46, '1 000 000 nested TUPLE1', deep, { code: 'PICKLE_LIMIT', details: { limit: 'maxDepth' } }),
    inZip(46, '100 000 nested MARK … TUPLE', marks, { code: 'PICKLE_LIMIT', details: { limit: 'maxMarks' } }),
    inZip(47, '10 000 000 NONE', flood, { code: 'PICKLE_LIMIT', details: { limit: 'maxStack' } }),
    inZip(48, 'memo billion laughs (64 levels)', latin1(`${laughs}.`), {
      accepted: '64 distinct tuples, 2^64 leaves: every walker visits nodes by identity',
    }),
    {
      vector: 48,
      name: 'billion laughs over a tensor, maxNodes 100 000',
      bytes: checkpointZip(
        concat(
          new PickleBuilder()
            .proto(2)
            .tensorV2(floatTensor('0', 6, [6], [1]))
            .bytes(),
          latin1(`${laughs.slice(7)}.`),
        ),
        [['0', arangeBytes(6)]],
      ).bytes,
      code: 'PICKLE_LIMIT',
      details: { limit: 'maxNodes' },
      options: { limits: { maxNodes: 100_000 } },
    },
    inZip(48, 'memo index 0 redefined', latin1(`\x80\x02U\x03lol${'q\x00h\x00\x86'.repeat(64)}.`), {
      code: 'PICKLE_MEMO_REDEFINED',
    }),
    inZip(49, 'list containing itself', p2(']q\x00h\x00a.'), { accepted: 'the self-reference is kept by identity' }),
    inZip(49, 'dict containing itself', p2('}q\x00U\x04selfh\x00s.'), {
      accepted: 'the self-reference is kept by identity',
    }),
    inZip(49, 'dict as its own key', p2('}q\x00h\x00U\x01vs.'), { code: 'PICKLE_TYPE' }),
  ];
}

/**
 * Vectors 50–54: GLOBAL lines, FRAME straddling, out-of-band buffers, string encodings,
 * oversized strings.
 */
export function textVectors(): HostileCase[] {
  const call = latin1('cos\nsystem\nVecho pwned\n\x85R(');
  const body = concat(call, new Uint8Array(261 - call.length).fill(OP.NONE));
  const unicode = concat(Uint8Array.of(OP.UNICODE), new Uint8Array(8192 * 16 - 17).fill(0x61), Uint8Array.of(0x0a));
  const frame = new PickleBuilder().pop().mark().frame(2).sized(OP.BINBYTES, 0x107, 4, latin1('\x00\x00')).bytes();
  const straddle = concat(
    new PickleBuilder().proto(5).none().bytes(),
    unicode,
    frame,
    body,
    new PickleBuilder().popMark().stop().bytes(),
  );
  const nested = new PickleBuilder().proto(4).frame(11).frame(1).none().stop().bytes();
  const lineCrossing = new PickleBuilder().proto(4).frame(4).raw('ctorch\nFloatStorage\n').stop().bytes();
  const str = (payload: string) => p2(`X${String.fromCharCode(payload.length)}\x00\x00\x00${payload}.`);
  return [
    inZip(50, 'GLOBAL of 10 MB without newline', concat(latin1('\x80\x02c'), new Uint8Array(10_000_000).fill(0x61)), {
      code: 'PICKLE_LIMIT',
      details: { limit: 'maxLineBytes' },
    }),
    inZip(50, 'GLOBAL module not UTF-8', p2('cmod\n\xf8\n.'), { code: 'PICKLE_STRING' }),
    inZip(50, 'GLOBAL empty lines', p2('c\n\n.'), { code: 'PICKLE_UNSAFE_GLOBAL', details: { global: '.' } }),
    inZip(50, 'GLOBAL module torch\\r', p2('ctorch\r\nFloatStorage\n.'), {
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'torch\r.FloatStorage' },
    }),
    inZip(51, 'FRAME straddled by BINBYTES (gh-154848)', straddle, { code: 'PICKLE_FRAME', secret: 'echo pwned' }),
    inZip(51, 'FRAME inside a FRAME', nested, { code: 'PICKLE_FRAME' }),
    inZip(51, 'GLOBAL line crosses the FRAME end', lineCrossing, { code: 'PICKLE_FRAME' }),
    inZip(52, 'NEXT_BUFFER', latin1('\x80\x05\x97.'), { code: 'PICKLE_UNSUPPORTED_OPCODE' }),
    inZip(52, 'READONLY_BUFFER', latin1('\x80\x05N\x98.'), { code: 'PICKLE_UNSUPPORTED_OPCODE' }),
    inZip(53, 'lone surrogate (surrogatepass)', latin1('\x80\x02X\x04\x00\x00\x00\xed\xa0\x80xq\x00.'), {
      accepted: 'CPython writes lone surrogates with surrogatepass; they decode to the same UTF-16 unit',
    }),
    inZip(53, 'overlong c0 80', str('\xc0\x80'), { code: 'PICKLE_STRING' }),
    inZip(53, 'byte ff', str('\xff'), { code: 'PICKLE_STRING' }),
    inZip(53, 'truncated e2 82', str('\xe2\x82'), { code: 'PICKLE_STRING' }),
    inZip(53, 'above U+10FFFF', str('\xf4\x90\x80\x80'), { code: 'PICKLE_STRING' }),
    inZip(53, 'SHORT_BINSTRING ff', p2('U\x01\xff.'), { code: 'PICKLE_STRING' }),
    inZip(54, 'BINUNICODE over maxStringBytes', new PickleBuilder().proto(2).str('x'.repeat(2000)).stop().bytes(), {
      code: 'PICKLE_LIMIT',
      details: { limit: 'maxStringBytes' },
      options: { limits: { maxStringBytes: 1024 } },
    }),
    inZip(
      54,
      'BINBYTES over maxStringBytes',
      new PickleBuilder().proto(3).sized(OP.BINBYTES, 2000, 4, new Uint8Array(2000)).stop().bytes(),
      { code: 'PICKLE_LIMIT', details: { limit: 'maxStringBytes' }, options: { limits: { maxStringBytes: 1024 } } },
    ),
  ];
}

/** All cases of vectors 35–54. */
export function pickleStreamVectors(): HostileCase[] {
  return [
    ...truncations(),
    ...everyOpcode(),
    ...lengthVectors(),
    ...stackVectors(),
    ...resourceVectors(),
    ...textVectors(),
  ];
}

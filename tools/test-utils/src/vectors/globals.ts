/**
 * Vectors 55–67: globals and object semantics.
 *
 * @module
 */
import { PickleBuilder, type PidSpec } from '../pickle-builder.js';
import {
  arangeBytes,
  checkpointZip,
  latin1,
  legacyFile,
  pickleZip,
  strList,
  VALID_WEIGHT,
  type HostileCase,
} from './common.js';
import { RCE_GLOBALS, reducerPickle } from './reducers.js';

/** Python 2 module names the unpickler maps before the allow-list lookup. */
const RENAMES: Readonly<Record<string, string>> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

/** The name a refusal reports for `module.name` (after the Python 2 rename). */
export function reportedGlobal(module: string, name: string): string {
  return `${RENAMES[module] ?? module}.${name}`;
}

/** A pickle-level case in a torch zip whose only storage is arange(6) under key `0`. */
function inZip(vector: number, name: string, pkl: Uint8Array, rest: Partial<HostileCase> = {}): HostileCase {
  return { vector, name, bytes: checkpointZip(pkl, [['0', arangeBytes(6)]]).bytes, ...rest };
}

const p2 = (body: string): Uint8Array => latin1(`\x80\x02${body}`);

/**
 * Vector 55: every RCE reducer at protocols 0, 2 and 4 in `data.pkl`: `PICKLE_UNSAFE_GLOBAL`
 * naming the global, at the byte offset of its `GLOBAL` / `STACK_GLOBAL` opcode.
 */
export function rceReducers(): HostileCase[] {
  return RCE_GLOBALS.flatMap(([module, name]) =>
    ([0, 2, 4] as const).map((protocol): HostileCase => {
      const { bytes, globalOffset } = reducerPickle(module, name, protocol);
      const zip = pickleZip(bytes);
      return {
        vector: 55,
        name: `${module}.${name} protocol ${protocol}`,
        bytes: zip.bytes,
        code: 'PICKLE_UNSAFE_GLOBAL',
        details: { global: reportedGlobal(module, name) },
        offset: zip.entries[0]!.dataOffset + globalOffset,
        secret: 'echo pwned',
      };
    }),
  );
}

/**
 * Vectors 56–58: names that look allow-listed, STACK_GLOBAL operand confusion, call opcodes
 * outside the supported set.
 */
export function lookalikeGlobals(): HostileCase[] {
  const global = (module: string, name: string) => p2(`c${module}\n${name}\n.`);
  const lookalikes: readonly (readonly [string, string])[] = [
    ['torch._utils', '_rebuild_tensor_v2.__globals__'],
    ['collections', 'OrderedDict.fromkeys'],
    ['torch', 'load'],
    ['torch.hub', 'load'],
    ['torch._utilsX', '_rebuild_tensor_v2'],
    ['torch', '_utils'],
    ['torch.serialization', 'load'],
    ['copy_reg', '_reconstructor'],
  ];
  const short = (text: string) => `\x8c${String.fromCharCode(text.length)}${text}`;
  return [
    ...lookalikes.map(([module, name]) =>
      inZip(56, `${module}.${name}`, global(module, name), {
        code: 'PICKLE_UNSAFE_GLOBAL',
        details: { global: reportedGlobal(module, name) },
      }),
    ),
    inZip(56, '__builtin__.set', global('__builtin__', 'set'), {
      accepted: '__builtin__ maps to builtins and builtins.set is allowed',
    }),
    inZip(56, 'STACK_GLOBAL pathlib + os.system', latin1(`\x80\x04${short('pathlib')}${short('os.system')}\x93.`), {
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'pathlib.os.system' },
    }),
    inZip(57, 'STACK_GLOBAL of two ints', latin1('\x80\x04J*\x00\x00\x00J*\x00\x00\x00\x93.'), { code: 'PICKLE_TYPE' }),
    inZip(57, 'STACK_GLOBAL fed from the memo', latin1('\x80\x04Vos\np0\n0Vsystem\np1\n0g0\ng1\n\x93.'), {
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'os.system' },
    }),
    inZip(57, 'STACK_GLOBAL of STRING operands', latin1("\x80\x04S'os'\nS'system'\n\x93."), {
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'os.system' },
    }),
    inZip(58, 'INST os.system', p2("(S'x'\nios\nsystem\n."), { code: 'PICKLE_UNSUPPORTED_OPCODE' }),
    inZip(
      58,
      'OBJ + POP (smtplib.SMTP)',
      latin1(`\x80\x04(${short('smtplib')}${short('SMTP')}\x93${short('127.0.0.1')}o0N.`),
      { code: 'PICKLE_UNSAFE_GLOBAL', details: { global: 'smtplib.SMTP' } },
    ),
    inZip(
      58,
      'OBJ + POP with unknown classes recorded',
      latin1(`\x80\x04(${short('smtplib')}${short('SMTP')}\x93${short('127.0.0.1')}o0N.`),
      { code: 'PICKLE_UNSUPPORTED_OPCODE', options: { unknownClasses: 'record' } },
    ),
    inZip(58, 'NEWOBJ_EX', latin1('\x80\x04N)}\x92.'), { code: 'PICKLE_UNSUPPORTED_OPCODE' }),
    inZip(58, 'EXT1', p2('\x82\x01.'), { code: 'PICKLE_UNSUPPORTED_OPCODE' }),
    inZip(58, 'text PERSID', p2('P0\n.'), { code: 'STORAGE_BAD_PID' }),
    inZip(58, 'REDUCE of a str', p2('X\x01\x00\x00\x00x)R.'), { code: 'PICKLE_TYPE' }),
    inZip(58, 'REDUCE of a tuple from the memo', p2(')q\x00h\x00)R.'), { code: 'PICKLE_TYPE' }),
  ];
}

/**
 * Vectors 59–60: a dangerous global before a broken stream (nullifAI), and a legacy file whose
 * magic number is computed by `eval`.
 */
export function brokenStreams(): HostileCase[] {
  const brokenModel = latin1("cbuiltins\nexec\n(X>\nf = open('my_file.txt', 'a'); f.write('Malicious'); f.close()tRX.");
  const printThenTruncated = latin1('\x80\x02cbuiltins\nprint\n(X\x05\x00\x00\x00pwnedtRX\xff\xff\xff\x7fjunk');
  const a = pickleZip(brokenModel);
  const b = pickleZip(printThenTruncated);
  const evalMagic = new PickleBuilder()
    .proto(2)
    .global('builtins', 'eval')
    .str('0x1950A86A20F9469CFC6C')
    .tuple1()
    .reduce()
    .stop()
    .bytes();
  const empty = new PickleBuilder().proto(2).emptyDict().stop().bytes();
  const bypass = legacyFile({
    magic: evalMagic,
    sysInfo: empty,
    main: strList([]),
    keys: reducerPickle('posix', 'system', 2).bytes,
    storages: [],
  });
  return [
    {
      vector: 59,
      name: 'broken_model.pkl',
      bytes: a.bytes,
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'builtins.exec' },
      offset: a.entries[0]!.dataOffset,
      secret: 'Malicious',
    },
    {
      vector: 59,
      name: 'print then a truncated BINUNICODE',
      bytes: b.bytes,
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'builtins.print' },
      offset: b.entries[0]!.dataOffset + 2,
      secret: 'pwned',
    },
    {
      vector: 60,
      name: 'magic computed by eval',
      bytes: bypass,
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'builtins.eval' },
      offset: 2,
    },
    {
      vector: 60,
      name: 'magic computed by eval, unknown classes recorded',
      bytes: bypass,
      code: 'PICKLE_UNSAFE_GLOBAL',
      details: { global: 'builtins.eval' },
      options: { unknownClasses: 'record' },
    },
  ];
}

const PID: PidSpec = { storage: 'FloatStorage', key: '0', location: 'cpu', numel: 6 };

/**
 * Vectors 61–62: SETITEM(S) and APPEND(S) on targets that are not dicts / lists (the
 * CVE-2026-24747 write primitive).
 */
export function containerTargets(): HostileCase[] {
  const targets: readonly (readonly [string, (p: PickleBuilder) => PickleBuilder])[] = [
    ['tensor', (p) => p.tensorV2({ ...VALID_WEIGHT })],
    ['list', (p) => p.emptyList()],
    ['tuple', (p) => p.emptyTuple()],
    ['None', (p) => p.none()],
    ['OrderedDict class', (p) => p.global('collections', 'OrderedDict')],
    ['storage', (p) => p.persistentId(PID)],
  ];
  const writes = new PickleBuilder().mark();
  for (let i = 0; i < 256; i++) writes.binint(i).binint(0x41414141);
  const setitems = writes.setitems().bytes();
  const cases: HostileCase[] = [];
  for (const [name, push] of targets) {
    cases.push(
      inZip(61, `SETITEMS on ${name}`, push(new PickleBuilder().proto(2)).raw(setitems).stop().bytes(), {
        code: 'PICKLE_TYPE',
      }),
    );
    cases.push(
      inZip(61, `SETITEM on ${name}`, push(new PickleBuilder().proto(2)).int(0).int(1).setitem().stop().bytes(), {
        code: 'PICKLE_TYPE',
      }),
    );
  }
  const appendTargets: readonly (readonly [string, (p: PickleBuilder) => PickleBuilder])[] = [
    ['tuple', (p) => p.emptyTuple()],
    ['dict', (p) => p.emptyDict()],
    ['tensor', (p) => p.tensorV2({ ...VALID_WEIGHT })],
    ['OrderedDict', (p) => p.orderedDict()],
  ];
  for (const [name, push] of appendTargets) {
    cases.push(
      inZip(62, `APPEND on ${name}`, push(new PickleBuilder().proto(2)).none().append().stop().bytes(), {
        code: 'PICKLE_TYPE',
      }),
    );
    cases.push(
      inZip(62, `APPENDS on ${name}`, push(new PickleBuilder().proto(2)).mark().none().appends().stop().bytes(), {
        code: 'PICKLE_TYPE',
      }),
    );
  }
  return cases;
}

/** Vectors 63–64: BUILD targets and states, NEWOBJ misuse. */
export function buildVectors(): HostileCase[] {
  const od = 'ccollections\nOrderedDict\nq\x00)Rq\x01';
  return [
    inZip(
      63,
      'state dict with _metadata',
      p2(
        `${od}}q\x02X\t\x00\x00\x00_metadataq\x03h\x00)Rq\x04X\x00\x00\x00\x00q\x05}q\x06X\x07\x00\x00\x00versionq\x07K\x01sssb.`,
      ),
      {
        accepted: 'BUILD on an OrderedDict keeps _metadata as an attribute, apart from the items',
      },
    ),
    // torch pickles no OrderedDict attribute but _metadata; any other is refused (and never assigned to an object)
    inZip(
      63,
      'state {"__proto__": {"polluted": 1}}',
      p2(`${od}}q\x02X\t\x00\x00\x00__proto__q\x03}q\x04X\x08\x00\x00\x00pollutedq\x05K\x01ssb.`),
      { code: 'PICKLE_TYPE', details: { attribute: '__proto__' } },
    ),
    inZip(
      63,
      'state {"constructor": {"prototype": {"x": 1}}}',
      p2(`${od}}X\x0b\x00\x00\x00constructor}X\t\x00\x00\x00prototype}X\x01\x00\x00\x00xK\x01sssb.`),
      { code: 'PICKLE_TYPE', details: { attribute: 'constructor' } },
    ),
    inZip(63, 'state (dict, slotstate)', p2(`${od}}N\x86b.`), { code: 'PICKLE_TYPE' }),
    inZip(63, 'BUILD on a dict', p2('}}b.'), { code: 'PICKLE_TYPE' }),
    inZip(63, 'BUILD on a list', p2(']}b.'), { code: 'PICKLE_TYPE' }),
    inZip(63, 'BUILD on None', p2('N}b.'), { code: 'PICKLE_TYPE' }),
    inZip(63, 'BUILD on an int', p2('K\x01}b.'), { code: 'PICKLE_TYPE' }),
    inZip(64, 'NEWOBJ of a function', p2('ctorch._utils\n_rebuild_tensor_v2\n)\x81.'), { code: 'PICKLE_TYPE' }),
    inZip(64, 'NEWOBJ with non-tuple args', p2('ccollections\nOrderedDict\nN\x81.'), { code: 'PICKLE_TYPE' }),
    inZip(64, 'NEWOBJ torch.Tensor never built', p2('ctorch\nTensor\n)\x81.'), { code: 'PICKLE_TYPE' }),
  ];
}

/** `_rebuild_tensor_v2(<args>)` + REDUCE, args written by `args`. */
function rebuild(args: (p: PickleBuilder) => void): Uint8Array {
  const p = new PickleBuilder().proto(2).global('torch._utils', '_rebuild_tensor_v2').mark();
  args(p);
  return p.tuple().reduce().stop().bytes();
}

/**
 * Vectors 65–67: allow-listed callables with wrong arguments, dict key semantics, protocol-2
 * bytes.
 */
export function argumentVectors(): HostileCase[] {
  const geometry = (p: PickleBuilder) => p.persistentId(PID).int(0).intTuple([6]).intTuple([1]);
  const odEmpty = (p: PickleBuilder) => p.orderedDict();
  const encode = (text: string, codec: string) =>
    new PickleBuilder().proto(2).global('_codecs', 'encode').str(text).str(codec).tuple2().reduce().stop().bytes();
  const dict = (fill: (p: PickleBuilder) => void) => {
    const p = new PickleBuilder().proto(2).emptyDict().mark();
    fill(p);
    return p.setitems().stop().bytes();
  };
  return [
    inZip(65, 'OrderedDict((5,))', p2('ccollections\nOrderedDict\nK\x05\x85\x85R.'), { code: 'PICKLE_TYPE' }),
    inZip(65, 'OrderedDict([("a", 1)])', p2('ccollections\nOrderedDict\n](X\x01\x00\x00\x00aK\x01\x86e\x85R.'), {
      accepted: 'OrderedDict(pairs) is how Python pickles build one; the items are kept in order',
    }),
    inZip(
      65,
      '_rebuild_tensor_v2 with 3 args',
      rebuild((p) => p.persistentId(PID).int(0).intTuple([6])),
      { code: 'PICKLE_TYPE' },
    ),
    inZip(
      65,
      '_rebuild_tensor_v2 with 8 args',
      rebuild((p) => (geometry(p).newFalse(), odEmpty(p), p.none().none())),
      { code: 'PICKLE_TYPE' },
    ),
    inZip(
      65,
      'size not a tuple of ints',
      rebuild((p) => (p.persistentId(PID).int(0).str('6').intTuple([1]).newFalse(), odEmpty(p))),
      { code: 'PICKLE_TYPE' },
    ),
    inZip(
      65,
      'requires_grad = 2',
      rebuild((p) => (geometry(p).int(2), odEmpty(p))),
      { code: 'PICKLE_TYPE' },
    ),
    inZip(
      65,
      'backward_hooks hold a global',
      rebuild((p) => geometry(p).newFalse().orderedDict().int(0).global('torch', 'Tensor').setitem()),
      { code: 'PICKLE_TYPE' },
    ),
    inZip(65, '_codecs.encode("x", "utf-16")', encode('x', 'utf-16'), { code: 'PICKLE_TYPE' }),
    inZip(
      65,
      '_codecs.encode(5, "latin1")',
      new PickleBuilder().proto(2).global('_codecs', 'encode').int(5).str('latin1').tuple2().reduce().stop().bytes(),
      { code: 'PICKLE_TYPE' },
    ),
    inZip(
      66,
      'keys 1, True, 1.0',
      dict((p) => p.int(1).str('a').newTrue().str('b').binfloat(1).str('c')),
      { code: 'PICKLE_DUPLICATE_KEY' },
    ),
    inZip(
      66,
      'keys 1 and "1"',
      dict((p) => p.int(1).int(10).str('1').int(11)),
      { accepted: 'int 1 and str "1" are different Python keys; the Map keeps both' },
    ),
    inZip(
      66,
      'two "weight" keys',
      dict((p) =>
        p
          .str('weight')
          .tensorV2({ ...VALID_WEIGHT })
          .str('weight')
          .tensorV2({ ...VALID_WEIGHT, size: [6], stride: [1] }),
      ),
      { code: 'PICKLE_DUPLICATE_KEY' },
    ),
    inZip(
      66,
      'NaN key',
      dict((p) => p.binfloat(Number.NaN).int(1)),
      { code: 'PICKLE_TYPE' },
    ),
    inZip(
      66,
      'tuple and None keys',
      dict((p) => p.int(1).int(2).tuple2().str('t').none().str('n')),
      { accepted: 'tuples and None are hashable keys' },
    ),
    inZip(
      67,
      'bytes b"\\x00\\xff"',
      p2('c_codecs\nencode\nq\x00X\x03\x00\x00\x00\x00\xc3\xbfq\x01X\x06\x00\x00\x00latin1q\x02\x86q\x03Rq\x04.'),
      { accepted: 'protocol 2 spells bytes as _codecs.encode(text, "latin1")' },
    ),
    inZip(
      67,
      'bytearray(b"x")',
      new PickleBuilder()
        .proto(2)
        .global('__builtin__', 'bytearray')
        .str('x')
        .str('latin-1')
        .tuple2()
        .reduce()
        .stop()
        .bytes(),
      { accepted: 'bytearray(text, "latin-1")' },
    ),
    inZip(67, '_codecs.encode("\\xff", "utf-8")', encode('\xff', 'utf-8'), { code: 'PICKLE_TYPE' }),
    inZip(67, '_codecs.encode(lone surrogate, "latin1")', encode('\ud800', 'latin1'), { code: 'PICKLE_TYPE' }),
  ];
}

/** All cases of vectors 55–67. */
export function globalVectors(): HostileCase[] {
  return [
    ...rceReducers(),
    ...lookalikeGlobals(),
    ...brokenStreams(),
    ...containerTargets(),
    ...buildVectors(),
    ...argumentVectors(),
  ];
}

import { spawnSync } from 'node:child_process';
import { PickleBuilder } from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../limits.js';
import { expectCode } from '../testing/helpers.js';
import { PYTHON, runPython } from '../testing/torch.js';
import { decodeLong, OP, OPCODES, pickleOps, PickleDecoder, type PickleOp } from './opcodes.js';

const pythonAvailable = spawnSync(PYTHON, ['-c', 'import pickletools'], { stdio: 'ignore' }).status === 0;
const text = (s: string) => new TextEncoder().encode(s);
const ops = (bytes: Uint8Array, start = 0): PickleOp[] => [...pickleOps(bytes, start)];

describe('the opcode table', () => {
  it.skipIf(!pythonAvailable)('is pickletools.opcodes, row for row', () => {
    const rows = runPython(
      'import json, pickletools\nprint(json.dumps([[o.name, ord(o.code), o.arg.name if o.arg else "none", o.proto] for o in pickletools.opcodes]))',
    );
    expect(OPCODES.map((o) => [o.name, o.code, o.arg, o.proto])).toEqual(JSON.parse(rows));
  });

  it('names each byte once', () => {
    expect(new Set(OPCODES.map((o) => o.code)).size).toBe(OPCODES.length);
    expect(OPCODES.find((o) => o.code === OP.BINPERSID)).toEqual({
      name: 'BINPERSID',
      code: 0x51,
      arg: 'none',
      proto: 1,
    });
  });
});

describe('pickleOps', () => {
  it('lists every opcode with its span and decoded argument, STOP last', () => {
    const bytes = new PickleBuilder()
      .proto(4)
      .frame(42)
      .global('torch', 'FloatStorage')
      .str('cuda:0')
      .binput(7)
      .long(-300n)
      .binint2(513)
      .tuple3()
      .stop()
      .bytes();
    const listed = ops(bytes);
    expect(listed.map((o) => [o.opcode.name, o.offset, o.end])).toEqual([
      ['PROTO', 0, 2],
      ['FRAME', 2, 11],
      ['GLOBAL', 11, 31],
      ['BINUNICODE', 31, 42],
      ['BINPUT', 42, 44],
      ['LONG1', 44, 48],
      ['BININT2', 48, 51],
      ['TUPLE3', 51, 52],
      ['STOP', 52, 53],
    ]);
    const [proto, frame, global, str, binput, long, binint2, tuple3] = listed.map((o) => o.argument);
    expect([proto, frame, binput, long, binint2, tuple3]).toEqual([4, 42, 7, -300, 513, undefined]);
    expect(global).toEqual([text('torch'), text('FloatStorage')]);
    expect(str).toEqual(text('cuda:0'));
  });

  it('starts where it is told and stops after the first STOP', () => {
    const one = new PickleBuilder().proto(2).none().stop().bytes();
    const two = Uint8Array.of(...one, ...new PickleBuilder().proto(2).binint1(5).stop().bytes(), 0xff);
    expect(ops(two, one.length).map((o) => [o.opcode.name, o.argument])).toEqual([
      ['PROTO', 2],
      ['BININT1', 5],
      ['STOP', undefined],
    ]);
  });

  it('fails with typed errors at the offset of the opcode, plus the given offset', async () => {
    const truncated = new PickleBuilder().proto(2).str('cpu').bytes().subarray(0, 8);
    await expectCode(() => [...pickleOps(truncated, 0, { entry: 'a/data.pkl', offset: 100 })], 'PICKLE_TRUNCATED');
    expect(() => ops(truncated)).toThrow(expect.objectContaining({ offset: 2 }));
    expect(() => [...pickleOps(truncated, 0, { entry: 'a/data.pkl', offset: 100 })]).toThrow(
      expect.objectContaining({ entry: 'a/data.pkl', offset: 102 }),
    );
    expect(() => ops(Uint8Array.of(0x80, 2, 0xff))).toThrow(
      expect.objectContaining({ code: 'PICKLE_INVALID_OPCODE', offset: 2 }),
    );
    expect(() => ops(new PickleBuilder().proto(2).none().bytes())).toThrow(
      expect.objectContaining({ code: 'PICKLE_TRUNCATED', offset: 3 }),
    );
    await expectCode(() => ops(new PickleBuilder().proto(4).frame(3).str('cpu').stop().bytes()), 'PICKLE_FRAME');
    await expectCode(
      () => ops(new PickleBuilder().proto(4).frame(4).raw('ctorch\nFloatStorage\n').stop().bytes()),
      'PICKLE_FRAME',
    );
    await expectCode(() => ops(new PickleBuilder().proto(2).sized(OP.BINSTRING, -1, 4).stop().bytes()), 'PICKLE_TYPE');
    await expectCode(
      () =>
        ops(
          new PickleBuilder()
            .proto(2)
            .long(2n ** 600n)
            .stop()
            .bytes(),
        ),
      'PICKLE_LIMIT',
    );
  });

  it('bounds strings and lines by the limits it is given', async () => {
    const long = new PickleBuilder().proto(2).str('x'.repeat(100)).stop().bytes();
    expect(ops(long)).toHaveLength(3);
    await expectCode(
      () => [...pickleOps(long, 0, { limits: { ...DEFAULT_LIMITS, maxStringBytes: 99 } })],
      'PICKLE_LIMIT',
    );
    await expectCode(
      () => ops(new PickleBuilder().proto(2).global('m'.repeat(300), 'x').stop().bytes()),
      'PICKLE_LIMIT',
    );
  });
});

describe('PickleDecoder', () => {
  it('reads without copying: payloads are views of the data', () => {
    const bytes = new PickleBuilder().proto(2).str('abc').stop().bytes();
    const d = new PickleDecoder(bytes, 0, DEFAULT_LIMITS);
    d.opcode();
    d.argument();
    expect(d.opcode()).toBe(OP.BINUNICODE);
    d.argument();
    expect(d.bytes.buffer).toBe(bytes.buffer);
    expect([d.start, d.pos]).toEqual([2, 10]);
  });
});

describe('decodeLong', () => {
  it('is pickletools.decode_long', () => {
    expect(decodeLong(new Uint8Array(0))).toBe(0);
    expect(decodeLong(Uint8Array.of(0xff))).toBe(-1);
    expect(decodeLong(Uint8Array.of(0xff, 0x00))).toBe(255);
    expect(decodeLong(Uint8Array.of(0x00, 0x80))).toBe(-32768);
    expect(decodeLong(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1))).toBe(2n ** 64n);
  });
});

/**
 * Every limit of DEFAULT_LIMITS, configured small: an input exactly at the limit loads, one step
 * above fails with the limit's code and `details.limit` naming it.
 */
import {
  arangeBytes,
  buildZip,
  checkpointZip,
  concat,
  floatTensor,
  latin1,
  OP,
  PickleBuilder,
  pickleZip,
  stateDictPickle,
} from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type LimitName, type Limits } from '../limits.js';
import { load } from '../load.js';
import { open } from '../open.js';
import { expectRejects } from '../testing/expect-rejects.js';
import { securityRuntime } from '../testing/run-case.js';

/** `n` copies of `byte`. */
const run = (byte: number, n: number) => new Uint8Array(n).fill(byte);
const pkl = (...parts: Uint8Array[]) => pickleZip(concat(latin1('\x80\x02'), ...parts, latin1('.'))).bytes;

interface LimitCase {
  /** The limit value configured. */
  readonly max: number;
  /** The input at the limit (loads) and one step above (fails). */
  readonly at: Uint8Array;
  readonly above: Uint8Array;
  readonly code: string;
  /** `load` (the limit applies when tensors are materialised) instead of `open`. */
  readonly load?: boolean;
}

const n = 50;
const deflated = (size: number) =>
  buildZip([
    { name: 'archive/data.pkl', data: latin1('\x80\x02N.') },
    { name: 'archive/z', data: new Uint8Array(size), method: 'deflated' },
    { name: 'archive/version', data: '3\n' },
  ]);
const inflateRatio = (() => {
  const z = deflated(10_000).entries[1]!;
  return Math.ceil(10_000 / z.storedLength);
})();
/** data.pkl, `count` empty records with names of `length` bytes, version: `count + 2` entries. */
const names = (count: number, length = 12) =>
  buildZip([
    { name: 'archive/data.pkl', data: latin1('\x80\x02N.') },
    ...Array.from({ length: count }, (_, i) => ({ name: `archive/${String(i).padStart(length - 8, 'x')}`, data: '' })),
    { name: 'archive/version', data: '3\n' },
  ]);
const rank = (r: number) =>
  checkpointZip(
    stateDictPickle([['t', floatTensor('0', 1, new Array<number>(r).fill(1), new Array<number>(r).fill(1))]]),
    [['0', arangeBytes(1)]],
  ).bytes;
const tensors = checkpointZip(
  stateDictPickle([
    ['a', floatTensor('0', 6, [6], [1])],
    ['b', floatTensor('1', 2, [2], [1])],
  ]),
  [
    ['0', arangeBytes(6)],
    ['1', arangeBytes(2)],
  ],
).bytes;
const cdSize = names(3).cdSize;

const CASES: Record<LimitName, LimitCase> = {
  maxEntries: { max: n, at: names(n - 2).bytes, above: names(n - 1).bytes, code: 'ZIP_TOO_MANY_ENTRIES' },
  maxCentralDirectory: { max: cdSize, at: names(3).bytes, above: names(4).bytes, code: 'ZIP_TOO_MANY_ENTRIES' },
  maxNameLength: { max: 40, at: names(1, 40).bytes, above: names(1, 41).bytes, code: 'ZIP_UNSAFE_NAME' },
  maxPickleBytes: {
    max: 4,
    at: pickleZip(latin1('\x80\x02N.')).bytes,
    above: pickleZip(latin1('\x80\x02NN0.')).bytes,
    code: 'PICKLE_LIMIT',
  },
  maxStringBytes: {
    max: n,
    at: pickleZip(new PickleBuilder().proto(2).str('s'.repeat(n)).stop().bytes()).bytes,
    above: pickleZip(
      new PickleBuilder()
        .proto(2)
        .str('s'.repeat(n + 1))
        .stop()
        .bytes(),
    ).bytes,
    code: 'PICKLE_LIMIT',
  },
  maxLongBytes: {
    max: 8,
    at: pkl(Uint8Array.of(OP.LONG1, 8), run(1, 8)),
    above: pkl(Uint8Array.of(OP.LONG1, 9), run(1, 9)),
    code: 'PICKLE_LIMIT',
  },
  maxLineBytes: {
    max: n,
    at: pkl(latin1('Np'), run(0x30, n), latin1('\n')),
    above: pkl(latin1('Np'), run(0x30, n + 1), latin1('\n')),
    code: 'PICKLE_LIMIT',
  },
  // PROTO, NONE, STOP are three opcodes; a POP and NONE more make five
  maxOps: {
    max: 3,
    at: pickleZip(latin1('\x80\x02N.')).bytes,
    above: pickleZip(latin1('\x80\x02N0N.')).bytes,
    code: 'PICKLE_LIMIT',
  },
  maxStack: {
    max: n,
    at: pkl(latin1('('), run(OP.NONE, n), latin1('t')),
    above: pkl(latin1('('), run(OP.NONE, n + 1), latin1('t')),
    code: 'PICKLE_LIMIT',
  },
  maxMarks: {
    max: n,
    at: pkl(run(OP.MARK, n), run(OP.TUPLE, n)),
    above: pkl(run(OP.MARK, n + 1), run(OP.TUPLE, n + 1)),
    code: 'PICKLE_LIMIT',
  },
  // an empty tuple has depth 1, each TUPLE1 around it one more
  maxDepth: {
    max: n,
    at: pkl(latin1(')'), run(OP.TUPLE1, n - 1)),
    above: pkl(latin1(')'), run(OP.TUPLE1, n)),
    code: 'PICKLE_LIMIT',
  },
  maxMemo: {
    max: n,
    at: pkl(latin1('N'), ...Array.from({ length: n }, (_, i) => Uint8Array.of(OP.BINPUT, i))),
    above: pkl(latin1('N'), ...Array.from({ length: n + 1 }, (_, i) => Uint8Array.of(OP.BINPUT, i))),
    code: 'PICKLE_LIMIT',
  },
  // n - 1 lists and the tuple holding them
  maxNodes: {
    max: n,
    at: pkl(latin1('('), run(OP.EMPTY_LIST, n - 1), latin1('t')),
    above: pkl(latin1('('), run(OP.EMPTY_LIST, n), latin1('t')),
    code: 'PICKLE_LIMIT',
  },
  maxRank: { max: 8, at: rank(8), above: rank(9), code: 'TENSOR_GEOMETRY' },
  maxTensorBytes: {
    max: 24,
    at: tensors,
    above: checkpointZip(stateDictPickle([['a', floatTensor('0', 7, [7], [1])]]), [['0', arangeBytes(7)]]).bytes,
    code: 'TENSOR_TOO_LARGE',
    load: true,
  },
  maxTotalBytes: {
    max: 32,
    at: tensors,
    above: checkpointZip(
      stateDictPickle([
        ['a', floatTensor('0', 6, [6], [1])],
        ['b', floatTensor('1', 3, [3], [1])],
      ]),
      [
        ['0', arangeBytes(6)],
        ['1', arangeBytes(3)],
      ],
    ).bytes,
    code: 'TENSOR_TOO_LARGE',
    load: true,
  },
  maxInflateRatio: { max: inflateRatio, at: deflated(10_000).bytes, above: deflated(20_000).bytes, code: 'ZIP_BOMB' },
};

describe('limits: at the limit loads, one step above fails naming it', () => {
  it('covers every limit', () => expect(Object.keys(CASES).sort()).toEqual(Object.keys(DEFAULT_LIMITS).sort()));

  for (const [name, c] of Object.entries(CASES) as [LimitName, LimitCase][]) {
    it(`${name} = ${c.max}: ${c.code}`, async () => {
      const options = {
        mapLocation: 'cpu',
        runtime: await securityRuntime(),
        limits: { [name]: c.max } as Partial<Limits>,
      } as const;
      const entry =
        c.load === true ? (bytes: Uint8Array) => load(bytes, options) : (bytes: Uint8Array) => open(bytes, options);
      await entry(c.at);
      const e = await expectRejects(() => entry(c.above), { code: c.code, inputBytes: c.above.length });
      expect(e.details).toMatchObject({ limit: name, max: c.max });
      // the same input loads under the default limits
      await (c.load === true ? load(c.above, { ...options, limits: {} }) : open(c.above, { ...options, limits: {} }));
    });
  }
});

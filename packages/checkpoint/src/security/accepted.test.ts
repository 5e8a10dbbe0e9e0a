/**
 * The hostile-input cases of @x-tools/test-utils that describe legitimate inputs, or inputs this
 * library reads by design: each case says why (`accepted`), and here its result is checked against
 * values the vector's construction fixes (arange, the bytes written, Python semantics), with
 * built-in prototypes untouched.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MetaTensor } from '@x/device';
import { allVectors, type HostileCase } from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { PyGlobal } from '../pickle/globals.js';
import { OrderedDict, Tuple } from '../pickle/values.js';
import { expectNoPoisoning } from '../testing/expect-rejects.js';
import { loadAccepted, openAccepted } from '../testing/run-case.js';

const ACCEPTED = allVectors().filter((c) => c.accepted !== undefined);

/** The float values of a loaded tensor. */
async function values(t: unknown): Promise<number[]> {
  expect(t).toBeInstanceOf(tf.Tensor);
  return Array.from(await (t as tf.Tensor).data());
}

async function root<T = unknown>(c: HostileCase): Promise<T> {
  return (await loadAccepted<T>(c)).value;
}

const ARANGE6 = [0, 1, 2, 3, 4, 5];

/** The valid checkpoint: weight = arange(6) as 2×3, bias = [10, 20]. */
async function expectValidCheckpoint(c: HostileCase, weight = ARANGE6): Promise<void> {
  const sd = await root<Map<string, tf.Tensor>>(c);
  expect([...sd.keys()]).toEqual(['weight', 'bias']);
  expect(sd.get('weight')!.shape).toEqual([2, 3]);
  expect(await values(sd.get('weight'))).toEqual(weight);
  expect(await values(sd.get('bias'))).toEqual([10, 20]);
}

async function onlyTensor(c: HostileCase, name = 't'): Promise<tf.Tensor> {
  const sd = await root<Map<string, tf.Tensor>>(c);
  return sd.get(name)!;
}

const CHECKS: Record<string, (c: HostileCase) => Promise<void>> = {
  '19 FB padding in the local header only': async (c) => {
    await expectValidCheckpoint(c);
    const ckpt = await openAccepted(c);
    await ckpt.close();
  },
  '20 data descriptors and ZIP64 end records': (c) => expectValidCheckpoint(c),
  '20 stored data that looks like a descriptor': async (c) => {
    // the 24 bytes of data/0: "PK\7\8", 12 zero bytes, then 4.0 and 5.0
    const bytes = new Uint8Array([
      0x50,
      0x4b,
      0x07,
      0x08,
      ...new Array<number>(12).fill(0),
      ...new Uint8Array(Float32Array.of(4, 5).buffer),
    ]);
    await expectValidCheckpoint(c, Array.from(new Float32Array(bytes.buffer)));
  },
  // byte 3 of the first float 0.0 xor 0x40: 0x40000000 = 2.0
  '23 crc mismatch, default': (c) => expectValidCheckpoint(c, [2, 1, 2, 3, 4, 5]),
  '34 empty directory entry': (c) => expectValidCheckpoint(c),
  '36 op 0x4e': async (c) => expect(await root(c)).toBeNull(),
  '36 op 0x7d': async (c) => expect(await root(c)).toEqual(new Map()),
  '36 op 0x5d': async (c) => expect(await root(c)).toEqual([]),
  '36 op 0x29': async (c) => expect(await root(c)).toEqual(new Tuple()),
  '36 op 0x88': async (c) => expect(await root(c)).toBe(true),
  '36 op 0x89': async (c) => expect(await root(c)).toBe(false),
  '36 op 0x8f': async (c) => expect(await root(c)).toEqual(new Set()),
  '39 LONG1 2^64': async (c) => expect(await root(c)).toBe(2n ** 64n),
  '39 LONG1 -2^63': async (c) => expect(await root(c)).toBe(-(2n ** 63n)),
  '39 LONG1 0': async (c) => expect(await root(c)).toBe(0),
  '40 LONG_BINPUT 2^32-1': async (c) => expect(await root(c)).toBeNull(),
  '43 TUPLE1 of None': async (c) => expect(await root(c)).toEqual(Tuple.from([null])),
  '44 PROTO 5': async (c) => expect(await root(c)).toBeNull(),
  '48 memo billion laughs (64 levels)': async (c) => {
    const started = performance.now();
    const ckpt = await openAccepted(c);
    let node: unknown = ckpt.container.root;
    await ckpt.close();
    for (let level = 0; level < 64; level++) {
      expect(node).toBeInstanceOf(Tuple);
      const [a, b] = node as Tuple;
      expect(a).toBe(b); // one node per level, shared by identity
      node = a;
    }
    expect(node).toBe('lol');
    expect(await root(c)).toBeInstanceOf(Tuple);
    expect(performance.now() - started).toBeLessThan(1000);
  },
  '49 list containing itself': async (c) => {
    const v = await root<unknown[]>(c);
    expect(v[0]).toBe(v);
  },
  '49 dict containing itself': async (c) => {
    const v = await root<Map<string, unknown>>(c);
    expect(v.get('self')).toBe(v);
  },
  '53 lone surrogate (surrogatepass)': async (c) => expect(await root(c)).toBe('\ud800x'),
  '56 __builtin__.set': async (c) => {
    const g = await root<PyGlobal>(c);
    expect(g).toBeInstanceOf(PyGlobal);
    expect(String(g)).toBe('builtins.set');
  },
  '63 state dict with _metadata': async (c) => {
    const od = await root<OrderedDict>(c);
    expect(od).toBeInstanceOf(OrderedDict);
    expect(od.size).toBe(0);
    expect(od.metadata).toEqual(new OrderedDict([['', new Map([['version', 1]])]]));
  },
  '65 OrderedDict([("a", 1)])': async (c) => expect(await root(c)).toEqual(new OrderedDict([['a', 1]])),
  '66 keys 1 and "1"': async (c) => {
    const m = await root<Map<unknown, unknown>>(c);
    expect([...m]).toEqual([
      [1, 10],
      ['1', 11],
    ]);
  },
  '66 tuple and None keys': async (c) =>
    expect([...(await root<Map<unknown, unknown>>(c))]).toEqual([
      [Tuple.from([1, 2]), 't'],
      [null, 'n'],
    ]),
  '67 bytes b"\\x00\\xff"': async (c) => expect(await root(c)).toEqual(Uint8Array.of(0, 255)),
  '67 bytearray(b"x")': async (c) => expect(await root(c)).toEqual(Uint8Array.of(0x78)),
  "72 typename b'storage'": async (c) => expect(await values(await onlyTensor(c))).toEqual(ARANGE6),
  '75 size (0, 5)': async (c) => {
    const t = await onlyTensor(c);
    expect(t.shape).toEqual([0, 5]);
    expect(t.size).toBe(0);
  },
  '77 x, even, odd share arange(100)': async (c) => {
    const { value, report } = await loadAccepted<Map<string, tf.Tensor>>(c);
    const all = Array.from({ length: 100 }, (_, i) => i);
    expect(await values(value.get('x'))).toEqual(all);
    expect(await values(value.get('even'))).toEqual(all.filter((i) => i % 2 === 0));
    expect(await values(value.get('odd'))).toEqual(all.filter((i) => i % 2 === 1));
    expect(report.bytesRead).toBe(400); // the shared record is read once
  },
  '78 float64 0.1, convert': async (c) => {
    const { value, report } = await loadAccepted<Map<string, tf.Tensor>>(c);
    expect(await values(value.get('t'))).toEqual([Math.fround(0.1)]);
    expect(report.conversions).toHaveLength(1);
    expect(report.conversions[0]).toMatchObject({ name: 't', from: 'float64', to: 'float32' });
    expect(report.conversions[0]!.lossy).toBeDefined();
  },
  // 0x3c00 = 1, 0x3800 = 0.5, 0xc000 = -2, 0x7bff = 65504 (largest half)
  '78 float16': async (c) => expect(await values(await onlyTensor(c))).toEqual([1, 0.5, -2, 65504]),
  // bfloat16 is the top half of a float32: 0x3f80 → 1, 0xc020 → -2.5
  '78 bfloat16': async (c) => expect(await values(await onlyTensor(c))).toEqual([1, -2.5]),
  '78 int8': async (c) => {
    const t = await onlyTensor(c);
    expect(t.dtype).toBe('int32');
    expect(await values(t)).toEqual([-128, 127]);
  },
  '79 byteorder big': (c) => expectValidCheckpoint(c),
  '79 no byteorder record': (c) => expectValidCheckpoint(c),
  '80 .data/version 3 beside version abc': async (c) => {
    await expectValidCheckpoint(c);
    const ckpt = await openAccepted(c);
    expect(ckpt.container.metadata?.get('version')).toBe(3);
    await ckpt.close();
  },
  '81 data/0 at an odd offset': (c) => expectValidCheckpoint(c),
  '82 location cuda:0': async (c) => expectLocated(c, 'cuda:0'),
  '82 location mps': async (c) => expectLocated(c, 'mps'),
  '82 location meta': async (c) => expectLocated(c, 'meta'),
  '82 _rebuild_meta_tensor_no_storage': async (c) => {
    const ckpt = await openAccepted(c);
    expect(ckpt.entries.map((e) => [e.name, e.kind, e.dtype, e.shape])).toEqual([['m', 'meta', 'float16', [2, 3]]]);
    await ckpt.close();
    const m = (await root<Map<string, unknown>>(c)).get('m');
    expect(m).toBeInstanceOf(MetaTensor);
    expect((m as MetaTensor).shape).toEqual([2, 3]);
  },
  '83 _rebuild_parameter': async (c) => expectParameter(c, true),
  '83 _rebuild_from_type_v2(_rebuild_tensor_v2, Parameter)': async (c) => expectParameter(c, false),
  '83 _rebuild_from_type_v2 with state {"__proto__": 1}': async (c) => {
    const ckpt = await openAccepted(c);
    const ref = ckpt.entries[0]!.ref as { state?: unknown };
    await ckpt.close();
    expect(ref.state).toEqual(new Map([['__proto__', 1]]));
    expect(await values((await root<Map<string, tf.Tensor>>(c)).get('p'))).toEqual(ARANGE6);
  },
  '84 valid legacy file': async (c) =>
    expect(await values((await root<Map<string, tf.Tensor>>(c)).get('w'))).toEqual([1, 2, 3, 4]),
  '88 __proto__ and constructor dict keys': async (c) => {
    const m = await root<Map<string, Map<string, unknown>>>(c);
    expect(m).toBeInstanceOf(Map);
    expect([...m.keys()]).toEqual(['__proto__', 'constructor']);
    expect(m.get('__proto__')).toEqual(new Map([['polluted', 1]]));
    expect(m.get('constructor')).toEqual(new Map([['prototype', new Map([['x', 1]])]]));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  },
  '89 tensor names __proto__, constructor, hasOwnProperty, toString': (c) =>
    expectNamed(c, ['__proto__', 'constructor', 'hasOwnProperty', 'toString']),
  '90 dotted names through __proto__': (c) =>
    expectNamed(c, ['a.__proto__.polluted', 'constructor.prototype.polluted', '__proto__.x']),
  '91 OrderedDict keys "10", "2", "a"': async (c) =>
    expect([...(await root<Map<string, number>>(c))]).toEqual([
      ['10', 1],
      ['2', 2],
      ['a', 3],
    ]),
  '92 ints -1, 65535, 2^53+1, -2^63': async (c) =>
    expect(await root(c)).toEqual([-1, 65535, 9007199254740993n, -9223372036854775808n]),
  '93 floats NaN, -0.0, 0x7ff0000000000001': async (c) => {
    const [nan, zero, payload] = await root<number[]>(c);
    expect(Number.isNaN(nan)).toBe(true);
    expect(Object.is(zero, -0)).toBe(true);
    expect(Number.isNaN(payload)).toBe(true);
  },
};

async function expectLocated(c: HostileCase, location: string): Promise<void> {
  const ckpt = await openAccepted(c);
  expect(ckpt.entries[0]!.location).toBe(location);
  await ckpt.close();
  const { value, report } = await loadAccepted<Map<string, tf.Tensor>>(c);
  expect(report.tensors[0]!.device).toBe('cpu');
  expect(await values(value.get('t'))).toEqual(ARANGE6);
}

async function expectParameter(c: HostileCase, requiresGrad: boolean): Promise<void> {
  const ckpt = await openAccepted(c);
  expect(ckpt.entries[0]!.ref).toMatchObject({ parameter: true, requiresGrad });
  await ckpt.close();
  expect(await values((await root<Map<string, tf.Tensor>>(c)).get('p'))).toEqual(ARANGE6);
}

/** Each tensor i of the named state dict is element i of arange(4), reachable by name. */
async function expectNamed(c: HostileCase, names: readonly string[]): Promise<void> {
  const ckpt = await openAccepted(c);
  expect(ckpt.names).toEqual(names);
  for (const [i, name] of names.entries()) expect(await values(await ckpt.tensor(name))).toEqual([i]);
  await ckpt.close();
  const sd = await root<Map<string, tf.Tensor>>(c);
  expect([...sd.keys()]).toEqual(names);
  expect(Object.getPrototypeOf(sd)).toBe(OrderedDict.prototype);
}

describe('vectors read by design', () => {
  it('has a check for every accepted case', () => {
    const missing = ACCEPTED.map((c) => `${c.vector} ${c.name}`).filter((key) => !(key in CHECKS));
    expect(missing).toEqual([]);
  });

  for (const c of ACCEPTED) {
    const check = CHECKS[`${c.vector} ${c.name}`];
    if (check === undefined) continue;
    it(`${c.vector} ${c.name} (${c.accepted})`, async () => {
      await check(c);
      expectNoPoisoning();
    });
  }
});

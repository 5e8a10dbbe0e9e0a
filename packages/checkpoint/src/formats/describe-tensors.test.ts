import { describe, expect, it } from 'vitest';
import { describeTensors, replaceEntry } from './describe-tensors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { OrderedDict, tuple, type StorageRef, type TensorRef } from '../pickle/values.js';

const storage = (key: string, numel = 4): StorageRef =>
  Object.freeze({ key, dtype: 'float32', location: 'cpu', numel, byteLength: numel * 4 });
const tensor = (s: StorageRef, shape = [s.numel]): TensorRef =>
  Object.freeze({ storage: s, offset: 0, shape, stride: [1], dtype: 'float32', requiresGrad: false, parameter: false });
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('describeTensors of a state dict (a Map of tensors only)', () => {
  it('lists every tensor as the general walk does: names, paths, sizes, shared storages, slots', () => {
    const tied = storage('0');
    const flat = new OrderedDict<unknown, TensorRef>([
      ['wte.weight', tensor(tied)],
      ['h.0.bias', tensor(storage('1', 2))],
      ['lm_head.weight', tensor(tied)],
      [tuple(2, 3), tensor(storage('2', 1))],
    ]);
    // the same tensors one level down take the general walk
    const nested = new Map([['m', new OrderedDict(flat)]]);
    const a = describeTensors(flat, DEFAULT_LIMITS);
    const b = describeTensors(nested, DEFAULT_LIMITS);
    const view = (e: (typeof a.entries)[number]) => [e.name, e.path, e.byteLength, e.sharedWith, e.ref];
    expect(a.entries.map(view)).toEqual([
      ['wte.weight', ['wte.weight'], 16, ['lm_head.weight'], flat.get('wte.weight')],
      ['h.0.bias', ['h.0.bias'], 8, [], flat.get('h.0.bias')],
      ['lm_head.weight', ['lm_head.weight'], 16, ['wte.weight'], flat.get('lm_head.weight')],
      ['(2, 3)', ['(2, 3)'], 4, [], [...flat.values()][3]],
    ]);
    expect(
      b.entries.map((e) => [e.name.slice(2), e.path.slice(1), e.byteLength, e.sharedWith.map((n) => n.slice(2))]),
    ).toEqual(a.entries.map((e) => [e.name, e.path, e.byteLength, e.sharedWith]));
    expect(a.storages).toEqual(b.storages);
    expect([...a.storages].map((s) => s.key)).toEqual(['0', '1', '2']);
    expect(replaceEntry(a.entries[1]!, 'placed')).toBe(true);
    expect(flat.get('h.0.bias')).toBe('placed');
  });

  it('counts the visits the general walk counts: the root, then each tensor and its one-step path', () => {
    const flat = new Map([
      ['a', tensor(storage('0'))],
      ['b', tensor(storage('1'))],
    ]);
    expect(describeTensors(flat, { ...DEFAULT_LIMITS, maxNodes: 5 }).entries).toHaveLength(2);
    expect(codeOf(() => describeTensors(flat, { ...DEFAULT_LIMITS, maxNodes: 4 }))).toBe('PICKLE_LIMIT');
  });

  it('walks a Map holding anything besides tensors as before', () => {
    const mixed = new Map<string, unknown>([
      ['a', tensor(storage('0'))],
      ['step', 3],
      ['b', [tensor(storage('1'))]],
    ]);
    expect(describeTensors(mixed, DEFAULT_LIMITS).entries.map((e) => e.name)).toEqual(['a', 'b.0']);
  });
});

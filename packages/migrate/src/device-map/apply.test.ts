import type { DeviceRuntime, Placed } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyDeviceMap } from './apply.js';
import { Module } from '../module/module.js';
import { planDeviceMap } from './plan.js';
import { f32, twoBackendRuntime } from '../testing/runtime.js';

let runtime: DeviceRuntime;
beforeAll(async () => {
  runtime = await twoBackendRuntime();
});

/** features.0: weight 4 floats (16 B) + bias 2 floats (8 B); classifier: weight 3 (12 B) + bias 1 (4 B). */
function model(): Module {
  return Module.fromStateDict(
    new Map<string, Placed>([
      ['features.0.weight', f32(runtime, [1, 2, 3, 4], 'cpu')],
      ['features.0.bias', f32(runtime, [5, 6], 'cpu')],
      ['classifier.weight', f32(runtime, [7, 8, 9], 'cpu')],
      ['classifier.bias', f32(runtime, [10], 'cpu')],
    ]),
  );
}

describe('applyDeviceMap', () => {
  it('moves each tensor to its longest-prefix device; the ledger shows only the moved bytes', () => {
    const m = model();
    runtime.ledger.reset();
    const { placement, unusedKeys } = applyDeviceMap(m, { '': 'cpu', features: 'cuda' }, runtime);
    expect([...placement]).toEqual([
      ['features.0.weight', 'cuda:0'],
      ['features.0.bias', 'cuda:0'],
      ['classifier.weight', 'cpu'],
      ['classifier.bias', 'cpu'],
    ]);
    expect(unusedKeys).toEqual([]);
    const snap = runtime.ledger.snapshot();
    expect(snap.copies).toBe(2);
    expect(snap.bytesMoved).toBe(16 + 8);
    expect(snap.devices['cuda:0']?.bytes).toBe(16 + 8);
    expect(m.devices(runtime)).toEqual(['cuda:0', 'cpu']);
  });

  it('checks coverage, ties and devices before moving anything', () => {
    const m = model();
    runtime.ledger.reset();
    expect(() => applyDeviceMap(m, { features: 'cuda' }, runtime)).toThrow(/classifier\.weight, classifier\.bias/);
    expect(() => applyDeviceMap(m, { '': 'cuda:3' }, runtime)).toThrow();
    expect(runtime.ledger.snapshot().copies).toBe(0);

    const w = f32(runtime, [1, 2], 'cpu');
    const tied = Module.fromStateDict(
      new Map([
        ['emb.weight', w],
        ['head.weight', w],
      ]),
    );
    expect(() => applyDeviceMap(tied, { emb: 'cuda', head: 'cpu' }, runtime)).toThrow(
      /"emb\.weight" on cuda, "head\.weight" on cpu/,
    );
    expect(runtime.ledger.snapshot().copies).toBe(0);
  });

  it('applies a planned map end to end', () => {
    // three 16 B layers a, b, c; cuda keeps the largest layer (16 B) free while others remain
    const m = Module.fromStateDict(
      new Map(['a', 'b', 'c'].map((n) => [`${n}.weight`, f32(runtime, [1, 2, 3, 4], 'cpu')] as [string, Placed])),
    );
    // a: 16 <= 40 - 16; b: 16 + 16 = 32 > 24 -> cpu from then on
    const plan = planDeviceMap(m, { strategy: 'sequential', maxMemory: { cuda: 40, cpu: 1000 } });
    expect(plan.deviceMap).toEqual({ a: 'cuda', b: 'cpu', c: 'cpu' });
    expect(plan.totals).toEqual({ cuda: 16, cpu: 32 });
    runtime.ledger.reset();
    applyDeviceMap(m, plan.deviceMap, runtime);
    expect(m.devices(runtime)).toEqual(['cuda:0', 'cpu']);
    expect(runtime.ledger.snapshot()).toMatchObject({ copies: 1, bytesMoved: 16 });
  });
});

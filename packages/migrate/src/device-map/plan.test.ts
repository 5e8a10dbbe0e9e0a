import { describe, expect, it } from 'vitest';
import { MetaTensor, device } from '@x/device';
import { Module } from '../module/module.js';
import { planDeviceMap, type SizeEntry } from './plan.js';
import { thrown } from '../testing/errors.js';

/** Four layers of 400 B each (weight 300 B + bias 100 B): 1600 B in all. */
const fourLayers: SizeEntry[] = [0, 1, 2, 3].flatMap((i) => [
  { name: `layers.${i}.w`, bytes: 300 },
  { name: `layers.${i}.b`, bytes: 100 },
]);

/** Three blocks of 600 B (attn 300 B + mlp 300 B): 1800 B in all. */
const threeBlocks: SizeEntry[] = [0, 1, 2].flatMap((i) => [
  { name: `blocks.${i}.attn.w`, bytes: 300 },
  { name: `blocks.${i}.mlp.w`, bytes: 300 },
]);

describe('planDeviceMap', () => {
  it('balanced: caps all but the last GPU at total/n + 1.25 × mean leaf, then fills in order', () => {
    const plan = planDeviceMap(fourLayers, {
      strategy: 'balanced',
      maxMemory: { 'cuda:0': 2000, 'cuda:1': 2000, cpu: 10_000 },
    });
    // per GPU = 1600 / 2 = 800; leaf modules layers.0..3 = 400 B each, buffer = floor(1.25 × 400) = 500
    const perGpu = 1600 / 2 + Math.floor(1.25 * 400);
    expect(plan.budgets).toEqual({ 'cuda:0': perGpu, 'cuda:1': 2000, cpu: 10_000 });
    // cuda:0 keeps the largest layer (400) free: room 1300 - 400 = 900 -> layers.0 and .1 (800)
    expect(plan.deviceMap).toEqual({
      'layers.0': 'cuda:0',
      'layers.1': 'cuda:0',
      'layers.2': 'cuda:1',
      'layers.3': 'cuda:1',
    });
    expect(plan.totals).toEqual({ 'cuda:0': 800, 'cuda:1': 800 });
    expect(plan.modelBytes).toBe(1600);
  });

  it('auto is balanced; sequential fills the first GPU first', () => {
    const maxMemory = { 'cuda:0': 2000, 'cuda:1': 2000, cpu: 10_000 };
    expect(planDeviceMap(fourLayers, { strategy: 'auto', maxMemory })).toEqual(
      planDeviceMap(fourLayers, { strategy: 'balanced', maxMemory }),
    );
    // sequential: 1600 B fit cuda:0 (2000 - 0 reserve once the only item is taken)
    const seq = planDeviceMap(fourLayers, { strategy: 'sequential', maxMemory });
    expect(seq.deviceMap).toEqual({ layers: 'cuda:0' });
    expect(seq.totals).toEqual({ 'cuda:0': 1600 });
  });

  it('balanced_low_0 leaves GPU 0 empty when the others hold the model', () => {
    const plan = planDeviceMap(fourLayers, {
      strategy: 'balanced_low_0',
      maxMemory: { 'cuda:0': 2000, 'cuda:1': 2000, 'cuda:2': 2000, cpu: 10_000 },
    });
    // per GPU = 1600 / (3 - 1) + 500 = 1300 for cuda:1; cuda:0 = max(0, 1600 - (1300 + 2000)) = 0
    expect(plan.budgets).toEqual({ 'cuda:0': 0, 'cuda:1': 1300, 'cuda:2': 2000, cpu: 10_000 });
    // cuda:1 takes 3 × 400 = 1200 (a 4th would be 1600 > 1300), cuda:2 the rest
    expect(plan.deviceMap).toEqual({
      'layers.0': 'cuda:1',
      'layers.1': 'cuda:1',
      'layers.2': 'cuda:1',
      'layers.3': 'cuda:2',
    });
    expect(plan.totals).toEqual({ 'cuda:1': 1200, 'cuda:2': 400 });
  });

  it('keeps tied weights together: head goes where emb goes, counted once', () => {
    const entries: SizeEntry[] = [
      { name: 'a.w', bytes: 600 },
      { name: 'emb.weight', bytes: 1000 },
      { name: 'b.w', bytes: 600 },
      { name: 'head.weight', bytes: 1000, tiedTo: 'emb.weight' },
      { name: 'head.bias', bytes: 100 },
    ];
    const plan = planDeviceMap(entries, {
      strategy: 'sequential',
      maxMemory: { 'cuda:0': 1800, 'cuda:1': 1500, cpu: 10_000 },
    });
    // largest layer = emb (1000; head counts only its bias, as in accelerate), kept free on cuda:0:
    // room 800 -> a (600); emb + head = 1100 does not fit the remaining 200 -> cuda:1 (no
    // reserve), b then overflows to cpu
    expect(plan.deviceMap).toEqual({ a: 'cuda:0', emb: 'cuda:1', head: 'cuda:1', b: 'cpu' });
    expect(plan.totals).toEqual({ 'cuda:0': 600, 'cuda:1': 1000 + 100, cpu: 600 });
    expect(plan.modelBytes).toBe(600 + 1000 + 600 + 100);
  });

  it('counts a shared tensor object once, under its first name: an alias module weighs only its own tensors', () => {
    const meta = (n: number): MetaTensor => new MetaTensor([n], 'float32', device('meta'));
    const emb = meta(250);
    const model = Module.fromStateDict(
      new Map([
        ['a.weight', meta(150)],
        ['emb.weight', emb],
        ['head.weight', emb],
        ['head.bias', meta(25)],
      ]),
    );
    const plan = planDeviceMap(model, {
      strategy: 'sequential',
      maxMemory: { 'cuda:0': 1800, 'cuda:1': 1000, cpu: 10_000 },
    });
    // layers: a 600, emb 1000, head 100 (its bias; the shared weight counts under emb), not 1100.
    // a: 600 <= 1800 - 1000 reserve. emb with its tied head: 600 + 1100 <= 1800 - 100 (largest
    // layer left is head). Counting head at 1100 would keep 1100 free and send emb to cuda:1.
    expect(plan.deviceMap).toEqual({ '': 'cuda:0' });
    expect(plan.totals).toEqual({ 'cuda:0': 1700 });
    expect(plan.modelBytes).toBe(1700);
  });

  it('takes ties from the tiedGroups option too', () => {
    const entries: SizeEntry[] = [
      { name: 'emb.weight', bytes: 1000 },
      { name: 'b.w', bytes: 600 },
      { name: 'head.weight', bytes: 1000 },
    ];
    const plan = planDeviceMap(entries, {
      strategy: 'sequential',
      maxMemory: { 'cuda:0': 1000, 'cuda:1': 1000, cpu: 10_000 },
      tiedGroups: [['emb.weight', 'head.weight']],
    });
    // emb+head = 1000 (one tensor) > 1000 - 1000 reserve on cuda:0 -> cuda:1 takes emb+head, b overflows to cpu
    expect(plan.deviceMap).toEqual({ emb: 'cuda:1', head: 'cuda:1', b: 'cpu' });
    expect(plan.totals).toEqual({ 'cuda:1': 1000, cpu: 600 });
  });

  it('splits a block across devices unless it matches noSplit', () => {
    const maxMemory = { 'cuda:0': 1350, 'cuda:1': 5000, cpu: 10_000 };
    // leaves are 300 B: cuda:0 room = 1350 - 300 = 1050 -> blocks.0 (600) + blocks.1.attn (300)
    expect(planDeviceMap(threeBlocks, { strategy: 'sequential', maxMemory }).deviceMap).toEqual({
      'blocks.0': 'cuda:0',
      'blocks.1.attn': 'cuda:0',
      'blocks.1.mlp': 'cuda:1',
      'blocks.2': 'cuda:1',
    });
    // blocks are 600 B layers: cuda:0 room = 1350 - 600 = 750 -> only blocks.0
    const plan = planDeviceMap(threeBlocks, { strategy: 'sequential', maxMemory, noSplit: ['blocks.*'] });
    expect(plan.deviceMap).toEqual({ 'blocks.0': 'cuda:0', 'blocks.1': 'cuda:1', 'blocks.2': 'cuda:1' });
    expect(plan.totals).toEqual({ 'cuda:0': 600, 'cuda:1': 1200 });
  });

  it('fails with the numbers when the budget is too small', () => {
    const entries: SizeEntry[] = [
      { name: 'a.w', bytes: 1000 },
      { name: 'b.w', bytes: 1000 },
    ];
    // cpu must hold a (1000) while keeping the largest layer (1000) free: 2000 fits, 1999 does not
    expect(planDeviceMap(entries, { strategy: 'sequential', maxMemory: { cpu: 2000 } }).deviceMap).toEqual({
      '': 'cpu',
    });
    const e = thrown(() => planDeviceMap(entries, { strategy: 'sequential', maxMemory: { cpu: 1999 } }));
    expect(e.code).toBe('PLAN_DOES_NOT_FIT');
    expect(e.message).toContain('The model (2000 B) does not fit');
    expect(e.message).toContain('"a" needs 1000 B');
    expect(e.message).toContain('cpu 1999 B');
    expect(e.details).toMatchObject({ module: 'a', bytes: 1000, modelBytes: 2000, reserve: 1000 });
  });

  it('reads maxMemory strings and rejects unknown strategies', () => {
    const plan = planDeviceMap([{ name: 'w', bytes: 1 }], { strategy: 'sequential', maxMemory: { cpu: '1KiB' } });
    expect(plan.budgets).toEqual({ cpu: 1024 });
    expect(plan.deviceMap).toEqual({ w: 'cpu' });
    const e = thrown(() => planDeviceMap([], { strategy: 'fast' as 'auto', maxMemory: { cpu: 1 } }));
    expect(e.code).toBe('DEVICE_MAP_INVALID');
    expect(e.message).toContain("please choose 'auto', 'balanced', 'balanced_low_0' or 'sequential'");
  });

  it('rejects a name that is both a tensor and a module, and unknown tie targets', () => {
    expect(
      thrown(() =>
        planDeviceMap(
          [
            { name: 'a', bytes: 1 },
            { name: 'a.b', bytes: 1 },
          ],
          { maxMemory: { cpu: 10 } },
        ),
      ).code,
    ).toBe('DEVICE_MAP_INVALID');
    expect(
      thrown(() => planDeviceMap([{ name: 'a', bytes: 1, tiedTo: 'zz' }], { maxMemory: { cpu: 10 } })).message,
    ).toContain('"zz"');
  });
});

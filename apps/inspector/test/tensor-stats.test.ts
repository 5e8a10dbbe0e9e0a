/**
 * The two ways statistics are computed — fused passes over the typed array (TF.js cpu backend) and
 * TF.js kernels (here the wasm backend) — against values whose answers the test works out itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createDeviceRuntime } from '@x/device';
import { beforeAll, describe, expect, test } from 'vitest';
import { tensorStats } from '../src/tensor-stats.js';

/** k / 8 for k = 0 … 64, cycled: exact in float32, and (v − 0) · 64 / 8 = k lands exactly on bin k. */
const N = 65 * 1000 + 7;
const values = Float32Array.from({ length: N }, (_, i) => ((i * 37) % 65) / 8);
const special = [NaN, NaN, Infinity, -Infinity, -Infinity];

beforeAll(async () => {
  await createDeviceRuntime({ tf, cuda: false });
});

describe.each(['cpu', 'wasm'])('tensorStats on %s', (backend) => {
  test('counts, extremes, mean, std and the 64 bins', async () => {
    await tf.setBackend(backend);
    const t = tf.tensor1d(Float32Array.from([...values, ...special]));
    const s = await tensorStats(tf, t);
    t.dispose();
    expect([s.count, s.nan, s.posInf, s.negInf]).toEqual([N + 5, 2, 1, 2]);
    expect([s.min, s.max]).toEqual([0, 8]);
    let sum = 0;
    for (const v of values) sum += v;
    const mean = sum / N;
    let squares = 0;
    for (const v of values) squares += (v - mean) ** 2;
    expect(s.mean).toBeCloseTo(mean, 4);
    expect(s.std).toBeCloseTo(Math.sqrt(squares / (N - 1)), 4);
    // bin k holds the values k / 8; the last bin also holds 64 / 8 (the max)
    const expected = new Array<number>(64).fill(0);
    for (const v of values) expected[Math.min(63, v * 8)]!++;
    expect(s.histogram).toEqual(expected);
  });

  test('a constant tensor: one full bin', async () => {
    await tf.setBackend(backend);
    const t = tf.fill([10], 3);
    const s = await tensorStats(tf, t);
    t.dispose();
    expect([s.min, s.max, s.mean, s.std]).toEqual([3, 3, 3, 0]);
    expect(s.histogram[0]).toBe(10);
    expect(s.histogram.slice(1).every((c) => c === 0)).toBe(true);
  });

  test('no finite value: counts only', async () => {
    await tf.setBackend(backend);
    const t = tf.tensor1d([NaN, Infinity]);
    const s = await tensorStats(tf, t);
    t.dispose();
    expect([s.count, s.nan, s.posInf, s.negInf]).toEqual([2, 1, 1, 0]);
    expect(s.mean).toBeNaN();
    expect(s.histogram.every((c) => c === 0)).toBe(true);
  });
});

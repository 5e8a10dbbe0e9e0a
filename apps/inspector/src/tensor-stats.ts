/**
 * Statistics and a histogram of one tensor, computed where the tensor lives without freezing the
 * page. On TF.js's `cpu` backend the data is a JS typed array, and two fused passes over it in
 * chunks (the page gets the event loop back between chunks) beat a dozen element-wise TF.js
 * kernels, each a full pass with a new 16 MB buffer. On wasm, webgl and webgpu the work runs as
 * TF.js ops on that backend, awaited one reduction at a time (GPU read-backs are asynchronous).
 */
import type * as TF from '@tensorflow/tfjs-core';
import { yieldToPage } from './yield-to-page.js';

type Tf = typeof TF;

/** What {@link tensorStats} finds. NaN and ±Inf are counted and left out of the rest. */
export interface TensorStats {
  readonly count: number;
  readonly nan: number;
  readonly posInf: number;
  readonly negInf: number;
  /** Over the finite values (NaN when there are none). */
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  /** `torch.std` (with Bessel's correction) over the finite values. */
  readonly std: number;
  /** Counts of finite values in `bins` equal-width bins from `min` to `max` (the last bin holds `max`). */
  readonly histogram: readonly number[];
}

/** Elements handled between two turns of the page on the cpu path. */
const CHUNK = 1 << 20;

/**
 * Statistics of `tensor` on the active backend (the caller makes the tensor's backend active).
 * Does not dispose `tensor`.
 */
export async function tensorStats(tf: Tf, tensor: TF.Tensor, bins = 64): Promise<TensorStats> {
  if (tf.getBackend() === 'cpu') return valueStats(await tensor.data(), bins);
  return backendStats(tf, tensor, bins);
}

function emptyStats(count: number, nan: number, posInf: number, negInf: number, bins: number): TensorStats {
  return {
    count,
    nan,
    posInf,
    negInf,
    min: NaN,
    max: NaN,
    mean: NaN,
    std: NaN,
    histogram: new Array<number>(bins).fill(0),
  };
}

/** The cpu path: two passes over the values, in chunks. */
async function valueStats(values: ArrayLike<number>, bins: number): Promise<TensorStats> {
  const count = values.length;
  let nan = 0;
  let posInf = 0;
  let negInf = 0;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      if (v - v !== 0) {
        if (Number.isNaN(v)) nan++;
        else if (v > 0) posInf++;
        else negInf++;
        continue;
      }
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    await yieldToPage();
  }
  const n = count - nan - posInf - negInf;
  if (n === 0) return emptyStats(count, nan, posInf, negInf, bins);
  const mean = sum / n;
  const scale = max > min ? bins / (max - min) : 0;
  const histogram = new Array<number>(bins).fill(0);
  let squares = 0;
  for (let start = 0; start < count; start += CHUNK) {
    const end = Math.min(count, start + CHUNK);
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      if (v - v !== 0) continue;
      squares += (v - mean) * (v - mean);
      histogram[Math.min(bins - 1, Math.floor((v - min) * scale))]!++;
    }
    await yieldToPage();
  }
  return { count, nan, posInf, negInf, min, max, mean, std: n > 1 ? Math.sqrt(squares / (n - 1)) : NaN, histogram };
}

async function scalar(t: TF.Tensor): Promise<number> {
  try {
    return (await t.data())[0] as number;
  } finally {
    t.dispose();
  }
}

/**
 * The TF.js path: reductions and a bincount on the active backend. `sum(x · 0)` is 0 exactly when
 * every value is finite (the usual case); then plain min, max and sums serve, and the masked
 * kernels (isFinite, where), slow on some backends, are skipped.
 */
async function backendStats(tf: Tf, tensor: TF.Tensor, bins: number): Promise<TensorStats> {
  const x: TF.Tensor1D = tf.tidy(() => tf.cast(tf.reshape(tensor, [-1]), 'float32'));
  const allFinite = (await scalar(tf.tidy(() => tf.sum(tf.mul(x, 0))))) === 0;
  const finite = allFinite ? undefined : tf.tidy(() => tf.isFinite(x));
  /** `x` with non-finite values replaced by `fill`. */
  const masked = (fill: number): TF.Tensor1D => (finite === undefined ? x : tf.where(finite, x, fill));
  try {
    const count = x.size;
    let [posInf, negInf, n] = [0, 0, count];
    if (finite !== undefined) {
      posInf = await scalar(tf.tidy(() => tf.sum(tf.cast(tf.equal(x, Infinity), 'int32'))));
      negInf = await scalar(tf.tidy(() => tf.sum(tf.cast(tf.equal(x, -Infinity), 'int32'))));
      n = await scalar(tf.tidy(() => tf.sum(tf.cast(finite, 'int32'))));
    }
    const nan = count - n - posInf - negInf;
    if (n === 0) return emptyStats(count, nan, posInf, negInf, bins);
    await yieldToPage();
    const min = await scalar(tf.tidy(() => tf.min(masked(Infinity))));
    const max = await scalar(tf.tidy(() => tf.max(masked(-Infinity))));
    const mean = (await scalar(tf.tidy(() => tf.sum(masked(0))))) / n;
    await yieldToPage();
    const squares = await scalar(tf.tidy(() => tf.sum(tf.square(tf.sub(masked(mean), mean)))));
    const std = n > 1 ? Math.sqrt(squares / (n - 1)) : NaN;
    if (max === min)
      return {
        count,
        nan,
        posInf,
        negInf,
        min,
        max,
        mean,
        std,
        histogram: [n, ...new Array<number>(bins - 1).fill(0)],
      };
    const scale = bins / (max - min);
    await yieldToPage();
    // (x - min) · scale is in [0, bins] for finite x, so int32 truncation is floor; the max lands in
    // bin `bins` and joins the last bin below; non-finite values become bins + 1, which bincount leaves out
    const counts = tf.tidy(() => {
      const index = tf.cast(tf.mul(tf.sub(masked(min + (bins + 1) / scale), min), scale), 'int32') as TF.Tensor1D;
      return tf.bincount(index, tf.tensor1d([], 'float32'), bins + 1);
    });
    const raw = Array.from(await counts.data());
    counts.dispose();
    const histogram = raw.slice(0, bins);
    histogram[bins - 1]! += raw[bins]!;
    return { count, nan, posInf, negInf, min, max, mean, std, histogram };
  } finally {
    x.dispose();
    finite?.dispose();
  }
}

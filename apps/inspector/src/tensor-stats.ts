/**
 * Statistics and a histogram of one tensor, computed with TF.js ops on the backend that holds it.
 * Each stage is awaited (GPU read-backs are asynchronous) and the page gets the event loop back
 * between stages, so a large tensor never freezes it.
 */
import type * as TF from '@tensorflow/tfjs-core';

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
  /** Counts of finite values in `bins` equal-width bins from `min` to `max`. */
  readonly histogram: readonly number[];
}

/** Gives the page a turn (input, painting) before the next stage of work. */
export function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function scalar(t: TF.Tensor): Promise<number> {
  try {
    return (await t.data())[0] as number;
  } finally {
    t.dispose();
  }
}

/**
 * Statistics of `tensor` on the active backend (the caller makes the tensor's backend active).
 * Does not dispose `tensor`.
 */
export async function tensorStats(tf: Tf, tensor: TF.Tensor, bins = 64): Promise<TensorStats> {
  const x: TF.Tensor1D = tf.tidy(() => tf.cast(tf.reshape(tensor, [-1]), 'float32'));
  const finite = tf.tidy(() => tf.isFinite(x));
  try {
    const count = x.size;
    const nan = await scalar(tf.tidy(() => tf.sum(tf.cast(tf.isNaN(x), 'int32'))));
    await yieldToPage();
    const posInf = await scalar(tf.tidy(() => tf.sum(tf.cast(tf.logicalAnd(tf.isInf(x), tf.greater(x, 0)), 'int32'))));
    const negInf = count - nan - posInf - (await scalar(tf.tidy(() => tf.sum(tf.cast(finite, 'int32')))));
    const n = count - nan - posInf - negInf;
    await yieldToPage();
    if (n === 0) return { count, nan, posInf, negInf, min: NaN, max: NaN, mean: NaN, std: NaN, histogram: new Array<number>(bins).fill(0) };
    const min = await scalar(tf.tidy(() => tf.min(tf.where(finite, x, tf.fill(x.shape, Infinity)))));
    const max = await scalar(tf.tidy(() => tf.max(tf.where(finite, x, tf.fill(x.shape, -Infinity)))));
    await yieldToPage();
    const zeros = tf.zerosLike(x);
    try {
      const mean = (await scalar(tf.tidy(() => tf.sum(tf.where(finite, x, zeros))))) / n;
      await yieldToPage();
      const squares = await scalar(tf.tidy(() => tf.sum(tf.where(finite, tf.square(tf.sub(x, mean)), zeros))));
      const std = n > 1 ? Math.sqrt(squares / (n - 1)) : NaN;
      await yieldToPage();
      const scale = max > min ? bins / (max - min) : 0;
      const index: TF.Tensor1D = tf.tidy(() =>
        // non-finite values get index `bins`, which bincount leaves out
        tf.where(finite, tf.cast(tf.clipByValue(tf.floor(tf.mul(tf.sub(x, min), scale)), 0, bins - 1), 'int32'), tf.fill(x.shape, bins, 'int32')),
      );
      const counts = tf.bincount(index, tf.tensor1d([], 'float32'), bins);
      index.dispose();
      const histogram = Array.from(await counts.data());
      counts.dispose();
      return { count, nan, posInf, negInf, min, max, mean, std, histogram };
    } finally {
      zeros.dispose();
    }
  } finally {
    x.dispose();
    finite.dispose();
  }
}

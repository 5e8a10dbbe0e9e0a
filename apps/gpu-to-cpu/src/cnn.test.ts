import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Layer } from './batch.js';
import { argmaxRows, maxAbsDiff, runLayers } from './cnn.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** PyTorch's Conv2d by its definition: out[n,o,y,x] = b[o] + Σ_c,i,j in[n,c,y·s+i·d−p, x·s+j·d−p] · w[o,c,i,j]. */
type Shape4 = [number, number, number, number];
function conv2dNchw(
  input: number[],
  [n, c, h, w]: Shape4,
  weight: number[],
  [o, , kh, kw]: Shape4,
  bias: number[],
  pad: number,
): number[] {
  const oh = h + 2 * pad - kh + 1;
  const ow = w + 2 * pad - kw + 1;
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++) {
          let sum = bias[oc]!;
          for (let ic = 0; ic < c; ic++)
            for (let i = 0; i < kh; i++)
              for (let j = 0; j < kw; j++) {
                const yy = y + i - pad;
                const xx = x + j - pad;
                if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                sum += input[((b * c + ic) * h + yy) * w + xx]! * weight[((oc * c + ic) * kh + i) * kw + j]!;
              }
          out.push(sum);
        }
  return out;
}

describe('runLayers', () => {
  it('computes Conv2d like PyTorch (NCHW in and out, [out, in, kh, kw] weights), with asymmetric data', () => {
    const shape: Shape4 = [2, 2, 4, 5];
    const input = Array.from({ length: 2 * 2 * 4 * 5 }, (_, i) => ((i * 7) % 11) - 5);
    const wShape: Shape4 = [3, 2, 3, 2];
    const weight = Array.from({ length: 3 * 2 * 3 * 2 }, (_, i) => ((i * 5) % 7) - 3);
    const bias = [0.5, -1, 2];
    const layer: Layer = {
      name: 'c',
      type: 'Conv2d',
      in_channels: 2,
      out_channels: 3,
      kernel_size: [3, 2],
      stride: [1, 1],
      padding: [1, 1],
      dilation: [1, 1],
      groups: 1,
      bias: true,
    };
    const params = { weight: tf.tensor(weight, wShape), bias: tf.tensor(bias) };
    const y = runLayers(tf, [layer], (_, p) => params[p], tf.tensor(input, shape));
    // padding 1 on a 3×2 kernel: height 4 + 2 − 3 + 1 = 4, width 5 + 2 − 2 + 1 = 6
    expect(y.shape).toEqual([2, 3, 4, 6]);
    expect(maxAbsDiff(y.dataSync(), conv2dNchw(input, shape, weight, wShape, bias, 1))).toBeLessThan(1e-5);
  });

  it('pools, flattens and applies Linear as PyTorch does (x · Wᵀ + b)', () => {
    const x = tf.tensor([1, 5, 2, 0, 3, 4, 7, 6, -1, -2, -3, -4, 0, 0, 9, 1], [1, 1, 4, 4]);
    const layers: Layer[] = [
      { name: 'p', type: 'MaxPool2d', kernel_size: 2, stride: 2, padding: 0 },
      { name: 'f', type: 'Flatten', start_dim: 1 },
      { name: 'l', type: 'Linear', in_features: 4, out_features: 2, bias: true },
    ];
    // max pools of the 2×2 blocks, row-major: [max(1,5,3,4), max(2,0,7,6), max(-1,-2,0,0), max(-3,-4,9,1)] = [5, 7, 0, 9]
    const w = tf.tensor([1, 0, 0, 1, 0, 1, 1, 0], [2, 4]);
    const y = runLayers(tf, layers, (_, p) => (p === 'weight' ? w : tf.tensor([10, 20])), x);
    expect(Array.from(y.dataSync())).toEqual([5 + 9 + 10, 7 + 0 + 20]);
    const avg = runLayers(tf, [{ name: 'a', type: 'AdaptiveAvgPool2d', output_size: 1 }], () => w, x);
    expect(avg.shape).toEqual([1, 1, 1, 1]);
    expect(avg.dataSync()[0]).toBeCloseTo(28 / 16, 6);
  });

  it('refuses what it does not implement', () => {
    const x = tf.zeros([1, 1, 2, 2]);
    expect(() => runLayers(tf, [{ name: 'a', type: 'AdaptiveAvgPool2d', output_size: 2 }], () => x, x)).toThrow(
      /not implemented/,
    );
  });
});

describe('helpers', () => {
  it('maxAbsDiff and argmaxRows', () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(() => maxAbsDiff([1], [1, 2])).toThrow();
    expect(argmaxRows([0.1, 0.9, 2, -1, 3, 3], 2)).toEqual([1, 0, 0]);
  });
});

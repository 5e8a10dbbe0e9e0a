/**
 * The CNN's forward pass with TensorFlow.js ops, layer by layer from the architecture PyTorch
 * recorded. Activations between layers keep PyTorch's layout (NCHW), so a model split between
 * devices hands over exactly what PyTorch would; each convolution and pooling transposes to
 * TF.js's NHWC and back, and conv weights go from PyTorch's `[out, in, kh, kw]` to TF.js's
 * `[kh, kw, in, out]`.
 *
 * @module
 */

import type * as TF from '@tensorflow/tfjs-core';
import type { Layer } from './batch.js';

type Tf = typeof TF;

/** Looks up a parameter of a layer, e.g. `('features.0', 'weight')`. */
export type ParamLookup = (layer: string, name: 'weight' | 'bias') => TF.Tensor;

/**
 * Runs `layers` on `x` (NCHW images, or `[N, features]` after a `Flatten`) with the ops of the
 * active TF.js backend and returns the output in PyTorch's layout. Intermediate tensors are
 * disposed; parameters are only read.
 *
 * @throws Error for layer settings this app does not implement (groups ≠ 1, padded max pooling,
 *   adaptive pooling to more than 1×1).
 */
export function runLayers(tf: Tf, layers: readonly Layer[], param: ParamLookup, x: TF.Tensor): TF.Tensor {
  return tf.tidy(() => layers.reduce((h, layer) => applyLayer(tf, layer, param, h), x));
}

function applyLayer(tf: Tf, layer: Layer, param: ParamLookup, x: TF.Tensor): TF.Tensor {
  switch (layer.type) {
    case 'Conv2d': {
      if (layer.groups !== 1)
        throw new Error(`${layer.name}: grouped convolution (groups=${layer.groups}) is not implemented`);
      const filter = tf.transpose(param(layer.name, 'weight'), [2, 3, 1, 0]) as TF.Tensor4D;
      const [ph, pw] = layer.padding;
      const nhwc = tf.conv2d(
        toNhwc(tf, x),
        filter,
        layer.stride,
        [
          [0, 0],
          [ph, ph],
          [pw, pw],
          [0, 0],
        ],
        'NHWC',
        layer.dilation,
      );
      const biased = layer.bias ? tf.add(nhwc, param(layer.name, 'bias')) : nhwc;
      return toNchw(tf, biased);
    }
    case 'ReLU':
      return tf.relu(x);
    case 'MaxPool2d':
      if (layer.padding !== 0) throw new Error(`${layer.name}: padded max pooling is not implemented`);
      return toNchw(tf, tf.maxPool(toNhwc(tf, x), layer.kernel_size, layer.stride, 'valid'));
    case 'AdaptiveAvgPool2d':
      if (layer.output_size !== 1)
        throw new Error(
          `${layer.name}: adaptive pooling to ${layer.output_size}×${layer.output_size} is not implemented`,
        );
      return tf.mean(x, [2, 3], true);
    case 'Flatten': {
      const keep = x.shape.slice(0, layer.start_dim);
      return tf.reshape(x, [...keep, -1]);
    }
    case 'Linear': {
      const y = tf.matMul(x as TF.Tensor2D, param(layer.name, 'weight') as TF.Tensor2D, false, true);
      return layer.bias ? tf.add(y, param(layer.name, 'bias')) : y;
    }
  }
}

function toNhwc(tf: Tf, x: TF.Tensor): TF.Tensor4D {
  return tf.transpose(x, [0, 2, 3, 1]) as TF.Tensor4D;
}

function toNchw(tf: Tf, x: TF.Tensor): TF.Tensor4D {
  return tf.transpose(x, [0, 3, 1, 2]) as TF.Tensor4D;
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

/** Index of the largest logit of each row of a row-major `[rows, cols]` array. */
export function argmaxRows(logits: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * cols < logits.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if ((logits[r * cols + c] as number) > (logits[r * cols + best] as number)) best = c;
    out.push(best);
  }
  return out;
}

/** Finding the tensors in what a load or `tensor()` returned, to read or dispose them. */
import type { Materialised } from '@x/checkpoint';
import { MetaTensor, type DeviceRuntime, type Placed } from '@x/device';
import type * as TF from '@tensorflow/tfjs-core';

/** Every TF.js tensor and meta tensor in `value` (Maps, arrays, records, sparse components), each once. */
function placedIn(value: unknown, tf: typeof TF): Placed[] {
  const found = new Set<Placed>();
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (v instanceof tf.Tensor || v instanceof MetaTensor) found.add(v);
    else if (v instanceof Map) for (const [k, item] of v) stack.push(k, item);
    else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (!ArrayBuffer.isView(v)) stack.push(...Object.values(v));
  }
  return [...found];
}

/** Disposes every tensor in `value` through the runtime (its ledger releases them). */
export function disposePlaced(value: unknown, runtime: DeviceRuntime): void {
  for (const t of placedIn(value, runtime.tf)) runtime.dispose(t);
}

/**
 * The tensor whose values the page summarises: a dense tensor itself, a sparse tensor's values.
 * A meta tensor has no values: `undefined`.
 */
export function valuesTensor(value: Materialised, tf: typeof TF): TF.Tensor | undefined {
  const dense = 'layout' in value ? value.values : value;
  return dense instanceof tf.Tensor ? dense : undefined;
}

/**
 * Tensor-by-tensor comparison of two checkpoints (or of any two values `load()` returns): same
 * bits, the largest absolute difference, a shape or dtype mismatch, or a tensor only one side has.
 *
 * @module
 */

import { rawView, toTensorData, type TorchDType } from '@x/device';
import { prepareValue, type PreparedValue, type PrepareOptions } from './tensors/prepare.js';

/** How one tensor name compares. */
export type TensorDiff =
  | { readonly name: string; readonly status: 'same' }
  | { readonly name: string; readonly status: 'different'; readonly maxAbsDiff: number }
  | { readonly name: string; readonly status: 'shape'; readonly a: readonly number[]; readonly b: readonly number[] }
  | { readonly name: string; readonly status: 'dtype'; readonly a: TorchDType; readonly b: TorchDType }
  | { readonly name: string; readonly status: 'missing'; readonly onlyIn: 'a' | 'b' };

/** Result of {@link diff}. */
export interface DiffResult {
  /** Every name of `a` in order, then the names only `b` has. */
  readonly tensors: readonly TensorDiff[];
  /** Whether every tensor is bit-for-bit the same on both sides. */
  readonly identical: boolean;
}

/** Types read element by element into numbers (`toTensorData` would narrow or refuse them). */
const BY_ELEMENT = new Set<TorchDType>([
  'float64',
  'complex128',
  'int64',
  'uint64',
  'uint32',
  'int32',
  'int16',
  'int8',
  'uint8',
  'bool',
  'qint8',
  'quint8',
  'qint32',
]);

/**
 * The elements of C-contiguous tensor bytes as numbers (complex: re, im interleaved; quantized:
 * the integer representation).
 */
export function elementsAsNumbers(bytes: Uint8Array, dtype: TorchDType): Float64Array {
  const values = BY_ELEMENT.has(dtype) ? rawView(bytes, dtype) : toTensorData(bytes, dtype, 'convert').values;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  return out;
}

/** Largest `|a[i] - b[i]|`; NaN on both sides counts as equal, NaN on one side makes the result NaN. */
export function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return NaN;
      continue;
    }
    if (x === y) continue; // equal infinities
    max = Math.max(max, Math.abs(x - y));
  }
  return max;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Compares the tensors of two prepared values by name, reading one pair at a time. */
export async function diffPrepared(a: PreparedValue, b: PreparedValue): Promise<DiffResult> {
  const right = new Map(b.tensors.map((t) => [t.name, t.ref]));
  const left = new Set<string>();
  const out: TensorDiff[] = [];
  for (const { name, ref } of a.tensors) {
    left.add(name);
    const other = right.get(name);
    if (other === undefined) out.push({ name, status: 'missing', onlyIn: 'a' });
    else if (ref.dtype !== other.dtype) out.push({ name, status: 'dtype', a: ref.dtype, b: other.dtype });
    else if (ref.shape.length !== other.shape.length || ref.shape.some((d, i) => d !== other.shape[i])) {
      out.push({ name, status: 'shape', a: ref.shape, b: other.shape });
    } else {
      const x = await a.contiguous(ref);
      const y = await b.contiguous(other);
      if (equalBytes(x, y)) out.push({ name, status: 'same' });
      else
        out.push({
          name,
          status: 'different',
          maxAbsDiff: maxAbsDiff(elementsAsNumbers(x, ref.dtype), elementsAsNumbers(y, ref.dtype)),
        });
    }
  }
  for (const { name } of b.tensors) if (!left.has(name)) out.push({ name, status: 'missing', onlyIn: 'b' });
  return { tensors: out, identical: out.every((d) => d.status === 'same') };
}

/**
 * Compares the tensors of two values (`load()` results in any dtype mode, or object graphs of
 * tensor references with their `storageBytes`), name by name.
 *
 * @example
 * ```ts
 * const { value: a } = await load('a.pt', { dtype: 'raw', mapLocation: 'cpu' });
 * const { value: b } = await load('b.pt', { dtype: 'raw', mapLocation: 'cpu' });
 * const r = await diff(a, b);
 * r.identical; // true when every tensor has the same dtype, shape and bits
 * ```
 */
export async function diff(
  a: unknown,
  b: unknown,
  options: { readonly a?: PrepareOptions; readonly b?: PrepareOptions } = {},
): Promise<DiffResult> {
  return diffPrepared(prepareValue(a, options.a), prepareValue(b, options.b));
}

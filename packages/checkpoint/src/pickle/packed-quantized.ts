/**
 * Packed quantized dtypes (`quint4x2`, `quint2x4`): two or four elements share a byte, the first
 * element in the lowest bits. A tensor's shape counts elements; its storage counts bytes, and
 * `int_repr()` returns the packed bytes.
 *
 * @module
 */
import { quote, type TorchDType } from '@x/device';
import { CheckpointError } from '../errors.js';
import { contiguousStrides } from './tensor-refs.js';
import type { TensorRef } from './values.js';

/** How many elements one byte of `dtype` holds (1 for every dtype that is not packed). */
export function elementsPerByte(dtype: TorchDType): number {
  return dtype === 'quint4x2' ? 2 : dtype === 'quint2x4' ? 4 : 1;
}

/**
 * The bytes torch's `int_repr()` holds for a packed tensor: its contiguous run of packed bytes.
 * A packed tensor that is not contiguous, or starts inside a byte, is refused (`TENSOR_UNSUPPORTED`).
 */
export function packedBytes(storageBytes: Uint8Array, ref: TensorRef, name: string): Uint8Array {
  const per = elementsPerByte(ref.dtype);
  const n = ref.shape.reduce((a, b) => a * b, 1);
  const contiguous = ref.shape.every((s, i) => s === 1 || ref.stride[i] === contiguousStrides(ref.shape)[i]);
  if (!contiguous || ref.offset % per !== 0) {
    throw new CheckpointError(
      'TENSOR_UNSUPPORTED',
      `tensor ${quote(name)}: a ${ref.dtype} tensor that is not contiguous from a byte boundary`,
      {
        details: { dtype: ref.dtype, offset: ref.offset },
      },
    );
  }
  const start = ref.offset / per;
  return storageBytes.subarray(start, start + Math.ceil(n / per));
}

/** `dequantize()` of a per-tensor packed tensor: `(q - zeroPoint) * scale` for each element, low bits first. */
export function dequantizePacked(
  packed: Uint8Array,
  count: number,
  dtype: TorchDType,
  scale: number,
  zeroPoint: number,
): Float32Array {
  const per = elementsPerByte(dtype);
  const bits = 8 / per;
  const mask = (1 << bits) - 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const q = (packed[Math.floor(i / per)]! >> (bits * (i % per))) & mask;
    out[i] = Math.fround((q - zeroPoint) * scale);
  }
  return out;
}

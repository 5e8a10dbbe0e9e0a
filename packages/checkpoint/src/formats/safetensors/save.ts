/**
 * Writing safetensors from the values `load()` returns: every tensor, gathered contiguous, in the
 * reference writer's order, streamed one tensor at a time.
 *
 * @module
 */

import { quote } from '@x/device';
import { CheckpointError } from '../../errors.js';
import { writeSafetensors, type SafetensorsHeader, type SafetensorsTensorInput } from './header.js';
import { isTfTensor, prepareValue, type PrepareOptions, type PreparedValue } from '../../tensors/prepare.js';
import { isTensorRef } from '../../pickle/values.js';
import type { ByteSink } from '../../zip/writer.js';

/** Options of {@link saveSafetensors}. */
export interface SaveSafetensorsOptions extends Omit<PrepareOptions, 'keepLocations'> {
  /** `__metadata__` (string to string). */
  readonly metadata?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /**
   * safetensors holds only tensors. By default the value must be a flat `Map` of name to tensor;
   * `true` writes every tensor of any nested value under its dotted path and leaves the rest out.
   */
  readonly dropNonTensors?: boolean;
}

/** The named tensors of a prepared value as safetensors inputs (each read and gathered when written). */
export function safetensorsInputs(prepared: PreparedValue): [string, SafetensorsTensorInput][] {
  return prepared.tensors.map(({ name, ref }) => [
    name,
    { dtype: ref.dtype, shape: ref.shape, data: () => prepared.contiguous(ref) },
  ]);
}

/** Checks that `value` is a flat `Map` of string names to tensors, as safetensors requires. */
export function checkFlatStateDict(value: unknown): void {
  if (!(value instanceof Map)) {
    throw new CheckpointError(
      'TENSOR_UNSUPPORTED',
      'safetensors needs a Map of tensor names to tensors (or dropNonTensors: true)',
    );
  }
  for (const [k, v] of value) {
    if (typeof k !== 'string')
      throw new CheckpointError('TENSOR_UNSUPPORTED', `safetensors names are strings, found a ${typeof k} key`);
    if (!isTfTensor(v) && !isTensorRef(v)) {
      throw new CheckpointError(
        'TENSOR_UNSUPPORTED',
        `safetensors holds only tensors: ${quote(k)} is not one (pass dropNonTensors: true to leave it out)`,
        { entry: k },
      );
    }
  }
}

/** Writes `stateDict` as a safetensors file to `sink`, reading one tensor at a time. */
export async function saveSafetensors(
  stateDict: unknown,
  sink: ByteSink,
  options: SaveSafetensorsOptions = {},
): Promise<SafetensorsHeader> {
  if (options.dropNonTensors !== true) checkFlatStateDict(stateDict);
  const prepared = prepareValue(stateDict, options);
  return writeSafetensors(
    safetensorsInputs(prepared),
    sink,
    options.metadata === undefined ? {} : { metadata: options.metadata },
  );
}

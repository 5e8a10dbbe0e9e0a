/**
 * Builds a {@link FormatContainer} from what a format found: the object graph, a reader for each
 * storage and a close action. Tensors and storages are listed from the graph in one walk (see
 * {@link describeTensors}); `readStorage` accepts only this container's storages and checks the
 * byte count it returns.
 *
 * @module
 */
import { dtypeInfo, quote, type TorchDType } from '@x/device';
import type { CheckpointFormat } from './container.js';
import { CheckpointError } from '../errors.js';
import type { Limits } from '../limits.js';
import { describeTensors } from './describe-tensors.js';
import type { StorageRef } from '../pickle/values.js';
import type { FormatContainer } from './format-reader.js';

/** What a format hands to {@link makeContainer}. */
export interface ContainerParts {
  readonly format: CheckpointFormat;
  readonly root: unknown;
  readonly limits: Limits;
  readonly metadata: ReadonlyMap<string, unknown> | undefined;
  /**
   * Reads one storage of the graph (exactly `byteLength` bytes, little-endian); may read into
   * `into` (exactly `byteLength` bytes) and return it, else the container copies the bytes there.
   */
  readonly read: (storage: StorageRef, into?: Uint8Array) => Promise<Uint8Array>;
  /** Releases the sources. */
  readonly close: () => Promise<void>;
}

/** The container over `parts`. */
export function makeContainer(parts: ContainerParts): FormatContainer {
  const { entries, storages: known } = describeTensors(parts.root, parts.limits);
  return {
    format: parts.format,
    root: parts.root,
    entries,
    storages: [...known],
    metadata: parts.metadata,
    async readStorage(storage, into) {
      if (!known.has(storage)) {
        throw new CheckpointError(
          'STORAGE_MISSING',
          `storage ${quote(String(storage.key))} does not belong to this checkpoint`,
          { details: { key: String(storage.key) } },
        );
      }
      if (into !== undefined && into.length !== storage.byteLength)
        throw new RangeError(`read into ${into.length} bytes, storage ${storage.key} has ${storage.byteLength}`);
      const bytes = await parts.read(storage, into);
      if (bytes.length !== storage.byteLength) {
        throw new CheckpointError(
          'STORAGE_SIZE_MISMATCH',
          `storage ${quote(storage.key)} has ${bytes.length} bytes, expected ${storage.byteLength} (${storage.numel} × ${storage.dtype})`,
          {
            details: { key: storage.key, actual: bytes.length, expected: storage.byteLength },
          },
        );
      }
      if (into === undefined || bytes === into) return bytes;
      into.set(bytes);
      return into;
    },
    close: parts.close,
  };
}

/**
 * A little-endian copy of big-endian storage bytes: every element of `dtype` reversed (complex
 * dtypes per component, one-byte dtypes unchanged and not copied), as torch's `byteswap(dtype)`.
 */
export function swapToLittle(bytes: Uint8Array, dtype: TorchDType): Uint8Array {
  const size = dtypeInfo(dtype).itemSize;
  const unit = dtype.startsWith('complex') ? size / 2 : size;
  if (unit === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + unit <= bytes.length; i += unit) {
    for (let k = 0; k < unit; k++) out[i + k] = bytes[i + unit - 1 - k]!;
  }
  return out;
}

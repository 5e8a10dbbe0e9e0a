/**
 * safetensors files as containers: the header is parsed by `header.ts` (every check of the
 * reference reader); each tensor is its own contiguous storage, keyed by the tensor's name, saved
 * location `cpu`.
 *
 * @module
 */
import { dtypeInfo } from '@x/device';
import type { ReadContext } from '../../read-context.js';
import { parseSafetensorsHeader, safetensorsHeaderLength } from './header.js';
import type { ByteSource } from '../../source.js';
import { checkGeometry, contiguousStrides } from '../../pickle/tensor-refs.js';
import { OrderedDict, type StorageRef, type TensorRef } from '../../pickle/values.js';
import { closeSource, type CheckpointFormatReader, type FormatContainer } from '../format-reader.js';
import { isSafetensorsHead } from '../heads.js';
import { makeContainer } from '../make-container.js';

/**
 * The safetensors reader. `test`: the first 8 bytes are a header length that fits the file and
 * the reference reader's cap, and the header starts with `{` (`isSafetensorsHead`). The root is an `OrderedDict` of names to tensors in data order;
 * `metadata` is `__metadata__`.
 */
export const safetensorsFormat = {
  id: 'safetensors',
  test(head: Uint8Array, source: ByteSource): boolean {
    return isSafetensorsHead(head, source.size);
  },
  async open(source: ByteSource, ctx: ReadContext): Promise<FormatContainer> {
    const { limits } = ctx;
    const n = safetensorsHeaderLength(await source.read(0, Math.min(8, source.size)), source.size);
    const header = parseSafetensorsHeader(await source.read(8, n), source.size);
    const root = new OrderedDict<string, TensorRef>();
    const offsets = new Map<StorageRef, number>();
    for (const t of header.tensors) {
      const itemSize = dtypeInfo(t.dtype).itemSize;
      const stride = contiguousStrides(t.shape);
      const where = { entry: t.name, offset: header.dataStart + t.begin };
      const g = checkGeometry(0, t.shape, stride, itemSize, t.end - t.begin, limits, where);
      const storage: StorageRef = Object.freeze({
        key: t.name,
        dtype: t.dtype,
        location: 'cpu',
        numel: (t.end - t.begin) / itemSize,
        byteLength: t.end - t.begin,
      });
      offsets.set(storage, header.dataStart + t.begin);
      root.set(
        t.name,
        Object.freeze({
          storage,
          offset: 0,
          shape: g.shape,
          stride: g.stride,
          dtype: t.dtype,
          requiresGrad: false,
          parameter: false,
        }),
      );
    }
    return makeContainer({
      format: 'safetensors',
      root,
      limits,
      metadata: header.metadata,
      read: (s) => source.read(offsets.get(s)!, s.byteLength),
      close: () => closeSource(source),
    });
  },
} as const satisfies CheckpointFormatReader;

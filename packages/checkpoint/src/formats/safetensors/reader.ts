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
import { checkGeometry, contiguousStrides, type Geometry } from '../../pickle/tensor-refs.js';
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
    // The header made every tensor's bytes exactly numel × itemSize, so for its contiguous strides
    // the geometry check depends on the shape alone: tensors of one shape share one checked geometry.
    const geometries = new Map<string, Geometry>();
    for (const t of header.tensors) {
      const itemSize = dtypeInfo(t.dtype).itemSize;
      const byteLength = t.end - t.begin;
      const offset = header.dataStart + t.begin;
      const shape = t.shape.join();
      let g = geometries.get(shape);
      if (g === undefined) {
        const where = { entry: t.name, offset };
        g = checkGeometry(0, t.shape, contiguousStrides(t.shape), itemSize, byteLength, limits, where);
        geometries.set(shape, g);
      }
      const storage: StorageRef = Object.freeze({
        key: t.name,
        dtype: t.dtype,
        location: 'cpu',
        numel: byteLength / itemSize,
        byteLength,
      });
      offsets.set(storage, offset);
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

/**
 * Storage views of the pre-zip formats (`_legacy_load` in torch/serialization.py): a view is a
 * storage of its own key that covers `size` elements of a root storage from element `offset`.
 * Root and view keys share one namespace.
 *
 * @module
 */
import { dtypeInfo, quote } from '@x/device';
import { CheckpointError, type ErrorWhere } from '../errors.js';
import type { StorageRef } from '../pickle/values.js';

/** A view storage and where its bytes lie in its root. */
export interface StorageView {
  readonly ref: StorageRef;
  readonly root: StorageRef;
  /** Byte offset of the view in the root storage. */
  readonly byteOffset: number;
}

const KEY = /^[0-9]{1,20}$/;

/** The views of one file. */
export interface StorageViews {
  /** Views by their {@link StorageRef}. */
  readonly byRef: ReadonlyMap<StorageRef, StorageView>;
  /** Whether `key` names a view. */
  has(key: string): boolean;
  /**
   * The view `key` of `root` (created on first use; a repeat must agree). `LEGACY_BAD_VIEW` when it
   * does not fit the root or its numbers are not non-negative safe integers, `STORAGE_BAD_KEY` for a
   * key that is not decimal digits, `STORAGE_CONFLICT` when the key is already a root storage or a
   * different view.
   */
  view(
    key: unknown,
    root: StorageRef,
    offset: unknown,
    size: unknown,
    isRootKey: (key: string) => boolean,
    where: ErrorWhere,
  ): StorageRef;
}

/** An empty set of views. */
export function createStorageViews(): StorageViews {
  const byKey = new Map<string, StorageView>();
  const byRef = new Map<StorageRef, StorageView>();
  return {
    byRef,
    has: (key) => byKey.has(key),
    view(key, root, offset, size, isRootKey, where) {
      if (typeof key !== 'string' || !KEY.test(key)) {
        throw new CheckpointError(
          'STORAGE_BAD_KEY',
          `storage view key must be 1 to 20 decimal digits, got ${typeof key === 'string' ? quote(key) : typeof key}`,
          where,
        );
      }
      const whole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
      if (!whole(offset) || !whole(size) || offset + size > root.numel) {
        throw new CheckpointError(
          'LEGACY_BAD_VIEW',
          `storage view ${quote(key)} of ${String(size)} elements at element ${String(offset)} does not fit storage ${quote(root.key)} of ${root.numel} elements`,
          where,
        );
      }
      const known = byKey.get(key);
      if (known !== undefined) {
        const itemSize = dtypeInfo(root.dtype).itemSize;
        if (known.root !== root || known.byteOffset !== offset * itemSize || known.ref.numel !== size) {
          throw new CheckpointError(
            'STORAGE_CONFLICT',
            `storage view ${quote(key)} declared twice with different roots or bounds`,
            where,
          );
        }
        return known.ref;
      }
      if (isRootKey(key))
        throw new CheckpointError(
          'STORAGE_CONFLICT',
          `key ${quote(key)} names both a storage and a storage view`,
          where,
        );
      const itemSize = dtypeInfo(root.dtype).itemSize;
      const ref: StorageRef = Object.freeze({
        key,
        dtype: root.dtype,
        location: root.location,
        numel: size,
        byteLength: size * itemSize,
      });
      const entry = { ref, root, byteOffset: offset * itemSize };
      byKey.set(key, entry);
      byRef.set(ref, entry);
      return ref;
    },
  };
}

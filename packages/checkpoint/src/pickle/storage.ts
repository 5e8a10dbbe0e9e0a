/**
 * Persistent ids → {@link StorageRef} (`persistent_id` in `torch/serialization.py`): the tuple
 * `('storage', storage_type, key, location, numel)` written by `torch.save` (legacy files add a
 * sixth element, `view_metadata`, which must be `None` here).
 *
 * @module
 */
import { dtypeFromStorageName, dtypeInfo, quote, type TorchDType } from '@x/device';
import { CheckpointError, type ErrorWhere } from '../errors.js';
import { isFloat, type StorageRef } from './values.js';
import { pyTypeName } from './args.js';
import { PyGlobal } from './globals.js';

/** Storage keys torch writes: decimal digits (zip: `0`, `1`, …; legacy: a C pointer). */
const KEY = /^[0-9]{1,20}$/;
/** Device tags: `cpu`, `cuda:0`, `mps`, `meta`, `privateuseone:1`, … */
const LOCATION = /^[A-Za-z_][A-Za-z0-9_]{0,31}(:[0-9]{1,9})?$/;

/**
 * Validates a persistent id and describes its storage. Bytes `b'storage'` / `b'cpu'` are accepted
 * as their ASCII text, as torch's `_maybe_decode_ascii` does. `STORAGE_BAD_PID` for a wrong shape
 * (message names types, never values), `STORAGE_BAD_KEY` for a key that is not 1–20 decimal digits.
 */
export function storageFromPid(pid: unknown, where: ErrorWhere = {}): StorageRef {
  const bad = (why: string): never => {
    throw new CheckpointError('STORAGE_BAD_PID', `persistent id ${why}`, where);
  };
  if (!Array.isArray(pid)) return bad(`must be a tuple, got ${pyTypeName(pid)}`);
  if (pid.length !== 5 && !(pid.length === 6 && pid[5] === null))
    return bad(`must have 5 items ('storage', type, key, location, numel), got ${pid.length}`);
  if (ascii(pid[0]) !== 'storage') return bad(`typename must be 'storage', got ${pyTypeName(pid[0])}`);
  const type = pid[1];
  if (!(type instanceof PyGlobal) || (type.kind !== 'storage' && type.kind !== 'untyped_storage')) {
    return bad(`storage type must be a storage class, got ${pyTypeName(type)}`);
  }
  const dtype: TorchDType = type.kind === 'storage' ? dtypeFromStorageName(type.name)! : 'uint8';
  const key = pid[2];
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new CheckpointError(
      'STORAGE_BAD_KEY',
      `storage key must be 1 to 20 decimal digits, got ${typeof key === 'string' ? quote(key) : pyTypeName(key)}`,
      where,
    );
  }
  const location = ascii(pid[3]);
  if (location === undefined || !LOCATION.test(location)) {
    return bad(
      `location must be a device string such as 'cpu' or 'cuda:0', got ${location === undefined ? pyTypeName(pid[3]) : quote(location)}`,
    );
  }
  const numel = pid[4];
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0 || isFloat(pid, 4)) {
    return bad(
      `numel must be a non-negative int below 2^53, got ${pyTypeName(numel)} ${typeof numel === 'number' || typeof numel === 'bigint' ? String(numel) : ''}`.trimEnd(),
    );
  }
  const byteLength = numel * dtypeInfo(dtype).itemSize;
  if (!Number.isSafeInteger(byteLength)) return bad(`numel ${numel} of ${dtype} overflows 2^53 bytes`);
  return Object.freeze({ key, dtype, location, numel, byteLength });
}

function ascii(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array && v.every((b) => b < 0x80)) return String.fromCharCode(...v.subarray(0, 256));
  return undefined;
}

/** Storages seen while unpickling one file, keyed by storage key. */
export interface StorageTable {
  /** Every storage referenced so far, in first-reference order. */
  readonly storages: ReadonlyMap<string, StorageRef>;
  /**
   * A `persistentLoad` for the unpickler: validates the id, returns the one {@link StorageRef} of
   * its key (views share it), and throws `STORAGE_CONFLICT` when a key is declared again with a
   * different dtype, location or numel. A zero-byte storage declared again under another dtype (torch
   * allows it) gets a ref of that dtype with the same key, outside `storages`.
   */
  persistentLoad(pid: unknown, where: ErrorWhere): StorageRef;
}

const redeclared = new WeakMap<StorageRef, StorageRef>();

/**
 * The storage `ref` is one more view of: for a zero-byte storage a file declared again under another
 * dtype (see {@link StorageTable.persistentLoad}), the ref of its first declaration; otherwise `ref`.
 * A writer gives both one key, as torch did.
 */
export function sameStorage(ref: StorageRef): StorageRef {
  return redeclared.get(ref) ?? ref;
}

/**
 * A fresh {@link StorageTable}.
 *
 * @example
 * ```ts
 * const table = createStorageTable();
 * const value = unpickle(pkl, { persistentLoad: table.persistentLoad });
 * for (const s of table.storages.values()) console.log(s.key, s.byteLength);
 * ```
 */
export function createStorageTable(): StorageTable {
  const storages = new Map<string, StorageRef>();
  return {
    storages,
    persistentLoad(pid, where) {
      const ref = storageFromPid(pid, where);
      const known = storages.get(ref.key);
      if (known === undefined) {
        storages.set(ref.key, ref);
        return ref;
      }
      // torch skips its one-dtype-per-storage check for a zero-byte storage: each view keeps its dtype
      if (
        known.byteLength === 0 &&
        ref.byteLength === 0 &&
        known.location === ref.location &&
        known.dtype !== ref.dtype
      ) {
        redeclared.set(ref, known);
        return ref;
      }
      if (known.dtype !== ref.dtype || known.location !== ref.location || known.numel !== ref.numel) {
        throw new CheckpointError(
          'STORAGE_CONFLICT',
          `storage ${quote(ref.key)} declared as ${ref.numel} ${ref.dtype} on ${quote(ref.location)}, earlier as ${known.numel} ${known.dtype} on ${quote(known.location)}`,
          { ...where, details: { key: ref.key } },
        );
      }
      return known;
    },
  };
}

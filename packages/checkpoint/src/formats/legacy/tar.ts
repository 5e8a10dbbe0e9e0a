/**
 * The tar format of torch ≤ 0.1 (`legacy_load` in torch/serialization.py), still read by `torch.load`:
 * members `sys_info`, `storages` (count, then per storage a `(key, location, storage_type)` pickle,
 * an int64 count and the raw bytes, then the list of storage views), `tensors` (count, then per
 * tensor a `(key, storage_key, tensor_type)` pickle and its int32 rank, int64 sizes, strides and
 * offset) and `pickle` (the object, with persistent ids naming tensor or storage keys).
 *
 * @module
 */
import { dtypeFromStorageName, dtypeInfo, quote } from '@x/device';
import { CheckpointError, type ErrorWhere } from '../../errors.js';
import { checkBound, type Limits } from '../../limits.js';
import type { ReadContext } from '../../read-context.js';
import { PyGlobal } from '../../pickle/globals.js';
import { storageFromPid } from '../../pickle/storage.js';
import type { ByteSource } from '../../source.js';
import { checkGeometry } from '../../pickle/tensor-refs.js';
import type { StorageRef, TensorRef } from '../../pickle/values.js';
import { closeSource, type CheckpointFormatReader, type FormatContainer } from '../format-reader.js';
import { makeContainer } from '../make-container.js';
import { readPickleAt } from '../pickle-stream.js';
import { createStorageViews, type StorageViews } from '../storage-views.js';
import { isTarHeader, readTarMembers, type TarMember } from './tar-members.js';

const MEMBERS = ['sys_info', 'pickle', 'tensors', 'storages'] as const;

/**
 * The tar reader. Every member must be one of the four torch writes; counts, ranks, extents and
 * geometry are checked before anything is allocated from them.
 */
export const tarFormat = {
  id: 'tar',
  test: (head: Uint8Array) => isTarHeader(head),
  async open(source: ByteSource, ctx: ReadContext): Promise<FormatContainer> {
    const { limits } = ctx;
    const all = await readTarMembers(source, limits);
    const member = (name: (typeof MEMBERS)[number]): TarMember => {
      const m = all.get(name);
      if (m === undefined)
        throw new CheckpointError('ARCHIVE_MISSING_RECORD', `the tar checkpoint has no ${quote(name)} member`, {
          entry: name,
        });
      return m;
    };
    const foreign = [...all.keys()].find((n) => !(MEMBERS as readonly string[]).includes(n));
    if (foreign !== undefined)
      throw new CheckpointError(
        'ARCHIVE_LAYOUT',
        `unexpected tar member ${quote(foreign)} (a torch tar checkpoint has ${MEMBERS.join(', ')})`,
        { entry: foreign },
      );

    const sysInfo = await onlyPickle(source, member('sys_info'), limits);
    if (!(sysInfo instanceof Map))
      throw new CheckpointError('LEGACY_BAD_HEADER', 'sys_info must be a dict', { entry: 'sys_info' });
    const stored = await readStorages(source, member('storages'), limits);
    const tensors = await readTensors(source, member('tensors'), stored, limits);
    const p = member('pickle');
    const persistentLoad = (pid: unknown, where: ErrorWhere): unknown => {
      if (Array.isArray(pid) && pid.length === 3 && pid[0] instanceof PyGlobal) return pid[0];
      if (typeof pid !== 'string' || !/^[0-9]{1,20}$/.test(pid))
        throw new CheckpointError('STORAGE_BAD_PID', 'tar persistent id must be a decimal key', where);
      const found = tensors.get(pid) ?? stored.lookup(pid);
      if (found === undefined)
        throw new CheckpointError('STORAGE_MISSING', `no tensor or storage ${quote(pid)} in the tar checkpoint`, where);
      return found;
    };
    const main = await readPickleAt(source, p.offset, {
      limits,
      persistentLoad,
      unknownClasses: ctx.unknownClasses,
      end: p.offset + p.size,
      entry: 'pickle',
    });
    expectEnd(main.end, p);
    const read = async (s: StorageRef): Promise<Uint8Array> => {
      const view = stored.views.byRef.get(s);
      const start = view === undefined ? stored.offsets.get(s)! : stored.offsets.get(view.root)! + view.byteOffset;
      return source.read(start, s.byteLength);
    };
    return makeContainer({
      format: 'tar',
      root: main.value,
      limits,
      metadata: sysInfo as Map<string, unknown>,
      read,
      close: () => closeSource(source),
    });
  },
} as const satisfies CheckpointFormatReader;

interface Stored {
  readonly offsets: ReadonlyMap<StorageRef, number>;
  readonly views: StorageViews;
  lookup(key: string): StorageRef | undefined;
}

async function onlyPickle(source: ByteSource, m: TarMember, limits: Limits): Promise<unknown> {
  const { value, end } = await readPickleAt(source, m.offset, { limits, end: m.offset + m.size, entry: m.name });
  expectEnd(end, m);
  return value;
}

function expectEnd(end: number, m: TarMember): void {
  if (end !== m.offset + m.size) {
    throw new CheckpointError(
      'ARCHIVE_LAYOUT',
      `tar member ${quote(m.name)} has ${m.offset + m.size - end} bytes after its last record`,
      { entry: m.name, offset: end },
    );
  }
}

function count(value: unknown, limits: Limits, m: TarMember): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw new CheckpointError('ARCHIVE_LAYOUT', `tar member ${quote(m.name)} must start with a record count`, {
      entry: m.name,
    });
  checkBound(value, limits.maxEntries, 'maxEntries', `${m.name} records`, { entry: m.name });
  return value;
}

/** int64 little-endian values at `at`, each a safe integer. */
async function int64s(source: ByteSource, at: number, n: number, m: TarMember): Promise<number[]> {
  if (at + 8 * n > m.offset + m.size)
    throw new CheckpointError('INPUT_TRUNCATED', `tar member ${quote(m.name)} ends inside a record`, {
      entry: m.name,
      offset: at,
    });
  const bytes = await source.read(at, 8 * n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: n }, (_, i) => {
    const v = view.getBigInt64(8 * i, true);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new CheckpointError('TENSOR_GEOMETRY', `tar record holds ${v}, not a non-negative safe integer`, {
        entry: m.name,
        offset: at + 8 * i,
      });
    return Number(v);
  });
}

async function readStorages(source: ByteSource, m: TarMember, limits: Limits): Promise<Stored> {
  const end = m.offset + m.size;
  let cursor = m.offset;
  const next = async (unknownClasses: 'error' | 'record' = 'error'): Promise<unknown> => {
    const r = await readPickleAt(source, cursor, { limits, end, entry: m.name, unknownClasses });
    cursor = r.end;
    return r.value;
  };
  const n = count(await next(), limits, m);
  const roots = new Map<string, StorageRef>();
  const offsets = new Map<StorageRef, number>();
  for (let i = 0; i < n; i++) {
    const where = { entry: m.name, offset: cursor };
    const rec = await next();
    if (!Array.isArray(rec) || rec.length !== 3 || typeof rec[0] !== 'number')
      throw new CheckpointError('STORAGE_BAD_PID', 'tar storage record must be (key, location, storage_type)', where);
    const [numel] = await int64s(source, cursor, 1, m);
    const ref = storageFromPid(['storage', rec[2], String(rec[0]), rec[1], numel], where);
    if (roots.has(ref.key))
      throw new CheckpointError('STORAGE_CONFLICT', `storage ${quote(ref.key)} appears twice`, where);
    if (ref.byteLength > end - cursor - 8)
      throw new CheckpointError(
        'INPUT_TRUNCATED',
        `storage ${quote(ref.key)} of ${ref.byteLength} bytes runs past the end of ${quote(m.name)}`,
        where,
      );
    roots.set(ref.key, ref);
    offsets.set(ref, cursor + 8);
    cursor += 8 + ref.byteLength;
  }
  const views = createStorageViews();
  const viewList = await next();
  if (!Array.isArray(viewList))
    throw new CheckpointError('LEGACY_BAD_VIEW', 'tar storage views must be a list', { entry: m.name });
  for (const v of viewList as unknown[]) {
    const where = { entry: m.name };
    if (!Array.isArray(v) || v.length !== 4)
      throw new CheckpointError(
        'LEGACY_BAD_VIEW',
        'tar storage view must be (view_key, root_key, offset, size)',
        where,
      );
    const root = roots.get(String(v[1]));
    if (root === undefined || typeof v[1] !== 'number')
      throw new CheckpointError('STORAGE_MISSING', 'tar storage view names a root storage that does not exist', where);
    views.view(typeof v[0] === 'number' ? String(v[0]) : v[0], root, v[2], v[3], (k) => roots.has(k), where);
  }
  expectEnd(cursor, m);
  return { offsets, views, lookup: (key) => roots.get(key) ?? [...views.byRef.keys()].find((r) => r.key === key) };
}

async function readTensors(
  source: ByteSource,
  m: TarMember,
  stored: Stored,
  limits: Limits,
): Promise<Map<string, TensorRef>> {
  const end = m.offset + m.size;
  let cursor = m.offset;
  const first = await readPickleAt(source, cursor, { limits, end, entry: m.name });
  cursor = first.end;
  const n = count(first.value, limits, m);
  const tensors = new Map<string, TensorRef>();
  for (let i = 0; i < n; i++) {
    const where = { entry: m.name, offset: cursor };
    const rec = await readPickleAt(source, cursor, { limits, end, entry: m.name, unknownClasses: 'record' });
    cursor = rec.end;
    const t = rec.value;
    if (!Array.isArray(t) || t.length !== 3 || typeof t[0] !== 'number' || typeof t[1] !== 'number') {
      throw new CheckpointError('STORAGE_BAD_PID', 'tar tensor record must be (key, storage_key, tensor_type)', where);
    }
    checkTensorClass(t[2], where);
    if (cursor + 8 > end)
      throw new CheckpointError('INPUT_TRUNCATED', `tar member ${quote(m.name)} ends inside a record`, where);
    const rankBytes = await source.read(cursor, 8);
    const rank = new DataView(rankBytes.buffer, rankBytes.byteOffset, 8).getInt32(0, true);
    if (rank < 0) throw new CheckpointError('TENSOR_GEOMETRY', `tensor rank ${rank} is negative`, where);
    checkBound(rank, limits.maxRank, 'maxRank', 'tensor rank', where);
    const numbers = await int64s(source, cursor + 8, 2 * rank + 1, m);
    cursor += 8 + 8 * (2 * rank + 1);
    const storage = stored.lookup(String(t[1]));
    if (storage === undefined)
      throw new CheckpointError('STORAGE_MISSING', `tensor ${t[0]} names storage ${t[1]}, which does not exist`, where);
    const g = checkGeometry(
      numbers[2 * rank]!,
      numbers.slice(0, rank),
      numbers.slice(rank, 2 * rank),
      dtypeInfo(storage.dtype).itemSize,
      storage.byteLength,
      limits,
      where,
    );
    const key = String(t[0]);
    if (tensors.has(key)) throw new CheckpointError('STORAGE_CONFLICT', `tensor ${quote(key)} appears twice`, where);
    tensors.set(
      key,
      Object.freeze({
        storage,
        offset: g.offset,
        shape: g.shape,
        stride: g.stride,
        dtype: storage.dtype,
        requiresGrad: false,
        parameter: false,
      }),
    );
  }
  expectEnd(cursor, m);
  return tensors;
}

/** The tensor type must be one of torch's tensor classes (`torch.FloatTensor`, `torch.cuda.LongTensor`, …); it is otherwise unused. */
function checkTensorClass(cls: unknown, where: ErrorWhere): void {
  const ok =
    cls instanceof PyGlobal &&
    (cls.module === 'torch' || cls.module === 'torch.cuda') &&
    /^[A-Za-z0-9]+Tensor$/.test(cls.name) &&
    dtypeFromStorageName(cls.name.replace(/Tensor$/, 'Storage')) !== undefined;
  if (!ok) {
    const name = cls instanceof PyGlobal ? `${cls.module}.${cls.name}` : 'a non-class value';
    throw new CheckpointError(
      'PICKLE_UNSAFE_GLOBAL',
      `tar tensor type must be a torch tensor class, found ${quote(name)}`,
      { ...where, details: { global: name.slice(0, 256) } },
    );
  }
}

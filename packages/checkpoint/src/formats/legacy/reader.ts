/**
 * The legacy stream format (`torch.save(..., _use_new_zipfile_serialization=False)`, torch
 * 0.4–1.5; `_legacy_save` in torch/serialization.py): pickles of the magic number, the protocol version
 * 1001 and `sys_info`, the object pickle, the sorted list of storage keys, then for each key an
 * int64 element count and the raw little-endian storage bytes. Storage keys are C pointers.
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError, type ErrorWhere } from '../../errors.js';
import { PyGlobal } from '../../pickle/globals.js';
import { createStorageTable } from '../../pickle/storage.js';
import type { ReadContext } from '../../read-context.js';
import type { ByteSource } from '../../source.js';
import type { StorageRef } from '../../pickle/values.js';
import { closeSource, startsWith, type CheckpointFormatReader, type FormatContainer } from '../format-reader.js';
import { isLegacyHead } from '../heads.js';
import { makeContainer } from '../make-container.js';
import { readPickleAt } from '../pickle-stream.js';
import { createStorageViews, type StorageViews } from '../storage-views.js';

/** `torch.serialization.MAGIC_NUMBER`. */
const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
/** How pickle protocols 0 and 1 write {@link MAGIC_NUMBER}: a text `LONG` opcode (no `PROTO` before it). */
const TEXT_MAGIC = [...new TextEncoder().encode(`L${MAGIC_NUMBER}L\n`)];
/** `torch.serialization.PROTOCOL_VERSION`. */
const PROTOCOL_VERSION = 1001;

/**
 * The legacy stream reader. `test` accepts a pickle start that is not a safetensors head
 * (`isLegacyHead`) or the magic number as protocols 0 and 1 write it
 * (`torch.save(..., pickle_protocol=1)`); `open` checks the
 * magic number (`LEGACY_BAD_MAGIC`), protocol and `sys_info` (`LEGACY_BAD_HEADER`), the key list
 * and every storage's count and extent (`LEGACY_BAD_STORAGE`), and that the storages end exactly at
 * the end of the file (`LEGACY_TRAILING_DATA`, so an appended zip cannot hide there).
 */
export const legacyFormat = {
  id: 'legacy',
  test: (head: Uint8Array, source: ByteSource) => isLegacyHead(head, source.size) || startsWith(head, TEXT_MAGIC),
  async open(source: ByteSource, ctx: ReadContext): Promise<FormatContainer> {
    const { limits } = ctx;
    const magic = await readPickleAt(source, 0, { limits });
    if (magic.value !== MAGIC_NUMBER)
      throw new CheckpointError('LEGACY_BAD_MAGIC', 'Invalid magic number; corrupt file?', { offset: 0 });
    const protocol = await readPickleAt(source, magic.end, { limits });
    if (protocol.value !== PROTOCOL_VERSION) {
      throw new CheckpointError(
        'LEGACY_BAD_HEADER',
        `Invalid protocol version: ${describe(protocol.value)} (expected ${PROTOCOL_VERSION})`,
        { offset: magic.end },
      );
    }
    const sysInfo = await readPickleAt(source, protocol.end, { limits });
    if (!(sysInfo.value instanceof Map))
      throw new CheckpointError('LEGACY_BAD_HEADER', `sys_info must be a dict, found ${describe(sysInfo.value)}`, {
        offset: protocol.end,
      });
    if (sysInfo.value.get('little_endian') === false)
      throw new CheckpointError(
        'LEGACY_BAD_HEADER',
        'big-endian legacy files are not supported (sys_info little_endian is False)',
        { offset: protocol.end },
      );
    const table = legacyStorages();
    const main = await readPickleAt(source, sysInfo.end, {
      limits,
      persistentLoad: table.persistentLoad,
      unknownClasses: ctx.unknownClasses,
    });
    const keys = await readPickleAt(source, main.end, { limits });
    const offsets = await locateStorages(source, keys.value, table.roots, main.end, keys.end);
    const read = async (s: StorageRef): Promise<Uint8Array> => {
      const view = table.views.byRef.get(s);
      const start = view === undefined ? offsets.get(s)! : offsets.get(view.root)! + view.byteOffset;
      return source.read(start, s.byteLength);
    };
    return makeContainer({
      format: 'legacy',
      root: main.value,
      limits,
      metadata: sysInfo.value as Map<string, unknown>,
      read,
      close: () => closeSource(source),
    });
  },
} as const satisfies CheckpointFormatReader;

/** Persistent ids of a legacy pickle: 6-tuples with optional `view_metadata`, and `('module', cls, file, source)`. */
function legacyStorages(): {
  roots: ReadonlyMap<string, StorageRef>;
  views: StorageViews;
  persistentLoad: (pid: unknown, where: ErrorWhere) => unknown;
} {
  const table = createStorageTable();
  const views = createStorageViews();
  return {
    roots: table.storages,
    views,
    persistentLoad(pid, where) {
      if (Array.isArray(pid) && pid.length === 4 && pid[0] === 'module') {
        if (pid[1] instanceof PyGlobal) return pid[1];
        throw new CheckpointError('STORAGE_BAD_PID', "persistent id ('module', …) must name a class", where);
      }
      if (!Array.isArray(pid) || pid.length !== 6 || pid[5] === null) {
        const ref = table.persistentLoad(pid, where);
        if (views.has(ref.key))
          throw new CheckpointError(
            'STORAGE_CONFLICT',
            `key ${quote(ref.key)} names both a storage and a storage view`,
            where,
          );
        return ref;
      }
      const meta: unknown = pid[5];
      if (!Array.isArray(meta) || meta.length !== 3)
        throw new CheckpointError('LEGACY_BAD_VIEW', 'view_metadata must be a tuple (view_key, offset, size)', where);
      const root = table.persistentLoad([...pid.slice(0, 5), null], where);
      return views.view(meta[0], root, meta[1], meta[2], (k) => table.storages.has(k), where);
    },
  };
}

/**
 * Checks the key list against the storages the pickle referenced and walks the storage section:
 * each record is an int64 count equal to the storage's numel, then its bytes. Returns each root
 * storage's data offset.
 */
async function locateStorages(
  source: ByteSource,
  keyList: unknown,
  roots: ReadonlyMap<string, StorageRef>,
  keysOffset: number,
  start: number,
): Promise<Map<StorageRef, number>> {
  const bad = (message: string, offset: number): never => {
    throw new CheckpointError('LEGACY_BAD_STORAGE', message, { offset });
  };
  if (!Array.isArray(keyList) || !keyList.every((k) => typeof k === 'string'))
    return bad('the storage key list must be a list of str', keysOffset);
  const listed = keyList as string[];
  if (new Set(listed).size !== listed.length) bad('the storage key list names a key twice', keysOffset);
  if (listed.length !== roots.size || !listed.every((k) => roots.has(k))) {
    const missing = [...roots.keys()].find((k) => !listed.includes(k));
    const extra = listed.find((k) => !roots.has(k));
    bad(
      missing !== undefined
        ? `storage ${quote(missing)} is used by the pickle but not in the key list`
        : `the key list names storage ${quote(extra ?? '')}, which the pickle never uses`,
      keysOffset,
    );
  }
  const offsets = new Map<StorageRef, number>();
  let pos = start;
  for (const key of listed) {
    const ref = roots.get(key)!;
    if (pos + 8 > source.size)
      bad(`unexpected EOF, expected 8 more bytes (element count of storage ${quote(key)})`, pos);
    const head = await source.read(pos, 8);
    const count = new DataView(head.buffer, head.byteOffset, 8).getBigInt64(0, true);
    if (count !== BigInt(ref.numel))
      bad(
        `storage has wrong byte size: storage ${quote(key)} expected ${ref.numel} elements, the file says ${count}`,
        pos,
      );
    if (ref.byteLength > source.size - pos - 8)
      bad(
        `unexpected EOF, expected ${ref.byteLength} more bytes for storage ${quote(key)}, ${source.size - pos - 8} left. The file might be corrupted.`,
        pos + 8,
      );
    offsets.set(ref, pos + 8);
    pos += 8 + ref.byteLength;
  }
  if (pos !== source.size) {
    throw new CheckpointError('LEGACY_TRAILING_DATA', `${source.size - pos} bytes follow the last storage record`, {
      offset: pos,
    });
  }
  return offsets;
}

function describe(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v === null) return 'None';
  return Array.isArray(v) ? 'a list or tuple' : typeof v === 'string' ? 'a str' : 'another value';
}

/**
 * Hugging Face sharded checkpoints: an index `*.index.json`
 * (`{"metadata": {"total_size": …}, "weight_map": {name: shard file}}`) next to its shards
 * (torch `.bin` files or `.safetensors`). Shards are opened through `options.resolve` with names
 * checked first (relative, no `..`, no `\`, no drive letters).
 *
 * @module
 */
import { quote } from '@x/device';
import { CheckpointError } from '../../errors.js';
import { checkBound, type Limits } from '../../limits.js';
import type { ReadContext } from '../../read-context.js';
import type { ByteSource } from '../../source.js';
import { OrderedDict, type StorageRef } from '../../pickle/values.js';
import { closeSource, type CheckpointFormatReader, type FormatContainer } from '../format-reader.js';
import { legacyFormat } from '../legacy/reader.js';
import { isIndexHead } from '../heads.js';
import { makeContainer } from '../make-container.js';
import { probe } from '../probe.js';
import { safetensorsFormat } from '../safetensors/reader.js';
import { torchZipFormat } from '../torch-zip/reader.js';

/** Formats a shard may have. */
const SHARD_FORMATS = [torchZipFormat, legacyFormat, safetensorsFormat] as const;

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The sharded-index reader. `test` (`isIndexHead`): the head is JSON text opening an object and the
 * file is named `*.json` or mentions `"weight_map"`. The root is one `OrderedDict` of every
 * shard's tensors, **in shard order** (shards in order of first appearance in `weight_map`, each
 * shard's own order inside); storages keep their shard-local keys (two shards may both have a
 * storage `0`: they are different `StorageRef` objects). Each shard must hold exactly the names
 * the index maps to it (`ARCHIVE_MISSING_RECORD`, `ARCHIVE_LAYOUT`). `metadata` is the index's
 * `metadata` object.
 */
export const shardedFormat = {
  id: 'sharded',
  test(head: Uint8Array, source: ByteSource): boolean {
    return isIndexHead(head, source);
  },
  async open(source: ByteSource, ctx: ReadContext): Promise<FormatContainer> {
    const { limits, resolve } = ctx;
    if (resolve === undefined) {
      throw new CheckpointError(
        'UNSUPPORTED_FORMAT',
        'a sharded index needs the resolve option to open its shards (the Node entry supplies one for files)',
      );
    }
    const index = await readIndex(source, limits);
    const shardNames = [...new Set(index.weightMap.values())];
    const shards: FormatContainer[] = [];
    const closeAll = async (): Promise<void> => {
      await Promise.all(shards.map((s) => s.close()));
      await closeSource(source);
    };
    try {
      const root = new OrderedDict<string, unknown>();
      const owner = new Map<StorageRef, FormatContainer>();
      for (const shardName of shardNames) {
        const shard = await probe(await resolve(shardName), SHARD_FORMATS, ctx);
        shards.push(shard);
        for (const [name, value] of shardEntries(shard, shardName)) {
          if (index.weightMap.get(name) !== shardName) {
            throw new CheckpointError(
              'ARCHIVE_LAYOUT',
              `shard ${quote(shardName)} holds ${quote(name)}, which the index maps ${index.weightMap.has(name) ? `to ${quote(index.weightMap.get(name)!)}` : 'nowhere'}`,
              { entry: shardName },
            );
          }
          root.set(name, value);
        }
        for (const s of shard.storages) owner.set(s, shard);
      }
      const missing = [...index.weightMap.keys()].find((name) => !root.has(name));
      if (missing !== undefined) {
        throw new CheckpointError(
          'ARCHIVE_MISSING_RECORD',
          `shard ${quote(index.weightMap.get(missing)!)} has no tensor ${quote(missing)}`,
          { entry: index.weightMap.get(missing) },
        );
      }
      return makeContainer({
        format: 'sharded',
        root,
        limits,
        metadata: index.metadata,
        read: (s) => owner.get(s)!.readStorage(s),
        close: closeAll,
      });
    } catch (e) {
      await closeAll();
      throw e;
    }
  },
} as const satisfies CheckpointFormatReader;

interface ShardIndex {
  readonly metadata: ReadonlyMap<string, unknown>;
  /** Tensor name → shard file, in index order. */
  readonly weightMap: ReadonlyMap<string, string>;
}

async function readIndex(source: ByteSource, limits: Limits): Promise<ShardIndex> {
  checkBound(source.size, limits.maxPickleBytes, 'maxPickleBytes', 'sharded index size');
  const bad = (why: string): never => {
    throw new CheckpointError('ARCHIVE_LAYOUT', `sharded index ${why}`, { entry: source.name });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fatalUtf8.decode(await source.read(0, source.size)));
  } catch (cause) {
    throw new CheckpointError('UNSUPPORTED_FORMAT', 'sharded index is not UTF-8 JSON', { entry: source.name, cause });
  }
  if (!isObject(parsed)) return bad('must be a JSON object');
  const { metadata = {}, weight_map: weightMap } = parsed;
  if (!isObject(metadata)) bad('metadata must be an object');
  if (!isObject(weightMap)) return bad('has no weight_map object');
  const map = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') bad(`maps ${quote(name)} to a ${typeof shard}, not a file name`);
    map.set(name, checkShardName(shard as string, limits));
  }
  return { metadata: new Map(Object.entries(metadata as object)), weightMap: map };
}

/**
 * A shard name must be a relative path inside the index's directory: no absolute paths, drive
 * letters, `\`, NUL, empty, `.` or `..` segments (`ZIP_UNSAFE_NAME`, the unsafe-name code).
 */
export function checkShardName(name: string, limits: Limits): string {
  const unsafe =
    name.length === 0 ||
    name.length > limits.maxNameLength ||
    name.startsWith('/') ||
    /^[A-Za-z]:/.test(name) ||
    /[\\\0]/.test(name) ||
    name.split('/').some((part) => part === '' || part === '.' || part === '..');
  if (unsafe)
    throw new CheckpointError(
      'ZIP_UNSAFE_NAME',
      `sharded index names an unsafe shard file ${quote(name)} (it must be a relative path inside the index's directory)`,
      { entry: name },
    );
  return name;
}

/** A shard's top-level name → value pairs: its root must be a dict with str keys. */
function shardEntries(shard: FormatContainer, shardName: string): Map<string, unknown> {
  const root = shard.root;
  if (!(root instanceof Map) || ![...root.keys()].every((k) => typeof k === 'string')) {
    throw new CheckpointError('ARCHIVE_LAYOUT', `shard ${quote(shardName)} must hold a state dict (str → tensor)`, {
      entry: shardName,
    });
  }
  return root as Map<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

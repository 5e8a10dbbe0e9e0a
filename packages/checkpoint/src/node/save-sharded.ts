/**
 * Hugging Face style sharded output (Node only): `pytorch_model-0000i-of-0000n.bin` or
 * `model-0000i-of-0000n.safetensors` shards of at most `maxShardSize` bytes each, plus
 * `pytorch_model.bin.index.json` / `model.safetensors.index.json` (`{metadata: {total_size},
 * weight_map}`, keys sorted, 2-space indent, as `save_pretrained` writes it).
 *
 * @module
 */

import { join } from 'node:path';
import { dtypeInfo, quote } from '@x/device';
import { CheckpointError } from '../errors.js';
import { writeSafetensors } from '../formats/safetensors/header.js';
import { checkFlatStateDict, safetensorsInputs } from '../formats/safetensors/save.js';
import { archivePrefix, writeFileAtomic } from './save.js';
import { save } from '../formats/torch-zip/save.js';
import { prepareValue, type PreparedTensor, type PrepareOptions } from '../tensors/prepare.js';
import { OrderedDict, type StorageRef } from '../pickle/values.js';

/** Options of {@link saveSharded}. */
export interface SaveShardedOptions extends PrepareOptions {
  /** `torch` (`.bin` shards, the default) or `safetensors`. */
  readonly format?: 'torch' | 'safetensors';
  /** Largest shard: bytes, or a size such as `'5GB'` (10^9) or `'4GiB'` (2^30). Default `'5GB'`. */
  readonly maxShardSize?: number | string;
  /** `__metadata__` of safetensors shards (default `{ format: 'pt' }`). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What {@link saveSharded} wrote. */
export interface ShardedResult {
  /** Shard file names in `dir`, in order. */
  readonly files: readonly string[];
  /** The index file name, or `undefined` when everything fit one shard (written under the plain name). */
  readonly index: string | undefined;
  /** Sum of the tensors' byte sizes (`metadata.total_size`). */
  readonly totalSize: number;
  /** Tensor name -> shard file name. */
  readonly weightMap: ReadonlyMap<string, string>;
}

const UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** Parses a shard size as `save_pretrained` does (`'5GB'` = 5·10^9, `'5GiB'` = 5·2^30) or takes bytes. */
export function parseSize(size: number | string): number {
  const m = typeof size === 'number' ? undefined : /^\s*(\d+(?:\.\d+)?)\s*([KMGT]I?B|B)\s*$/i.exec(size);
  const bytes =
    typeof size === 'number'
      ? size
      : m === null || m === undefined
        ? NaN
        : Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new CheckpointError(
      'ARCHIVE_LAYOUT',
      `maxShardSize must be a positive byte count or a size like '5GB', got ${quote(String(size))}`,
    );
  }
  return bytes;
}

/**
 * Splits tensors into shards in order: a shard is closed when the next group would exceed `max`
 * (a group larger than `max` gets a shard of its own). Tensors sharing a storage stay together.
 */
export function planShards(tensors: readonly PreparedTensor[], max: number): PreparedTensor[][] {
  const groups = new Map<StorageRef, PreparedTensor[]>();
  for (const t of tensors) {
    const g = groups.get(t.ref.storage);
    if (g === undefined) groups.set(t.ref.storage, [t]);
    else g.push(t);
  }
  const shards: PreparedTensor[][] = [];
  let current: PreparedTensor[] = [];
  let size = 0;
  for (const group of groups.values()) {
    const bytes = group.reduce((n, t) => n + tensorBytes(t), 0);
    if (current.length > 0 && size + bytes > max) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(...group);
    size += bytes;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

function tensorBytes(t: PreparedTensor): number {
  return t.ref.shape.reduce((n, d) => n * d, 1) * dtypeInfo(t.ref.dtype).itemSize;
}

/**
 * Writes a flat state dict as Hugging Face shards plus their index into `dir` (which must exist).
 * One shard is written under the plain name (`pytorch_model.bin` / `model.safetensors`) with no
 * index, as `save_pretrained` does. Each file is written atomically, one storage in memory at a time.
 */
export async function saveSharded(
  stateDict: unknown,
  dir: string,
  options: SaveShardedOptions = {},
): Promise<ShardedResult> {
  checkFlatStateDict(stateDict);
  const format = options.format ?? 'torch';
  const prepared = prepareValue(stateDict, options);
  const shards = planShards(prepared.tensors, parseSize(options.maxShardSize ?? '5GB'));
  const [base, ext] = format === 'torch' ? ['pytorch_model', 'bin'] : ['model', 'safetensors'];
  const n = shards.length;
  const pad = (i: number): string => String(i).padStart(5, '0');
  const files = shards.map((_, i) => (n === 1 ? `${base}.${ext}` : `${base}-${pad(i + 1)}-of-${pad(n)}.${ext}`));
  const weightMap = new Map<string, string>();
  for (const [i, shard] of shards.entries()) {
    const file = files[i]!;
    const path = join(dir, file);
    for (const t of shard) weightMap.set(t.name, file);
    if (format === 'torch') {
      const value = new OrderedDict<string, unknown>(shard.map((t) => [t.name, t.ref]));
      await writeFileAtomic(path, (sink) =>
        save(value, sink, {
          prefix: archivePrefix(file),
          storageBytes: prepared.storageBytes,
          ...(options.keepLocations === undefined ? {} : { keepLocations: options.keepLocations }),
        }),
      );
    } else {
      const inputs = safetensorsInputs({ ...prepared, tensors: shard });
      await writeFileAtomic(path, (sink) =>
        writeSafetensors(inputs, sink, { metadata: options.metadata ?? { format: 'pt' } }),
      );
    }
  }
  const totalSize = prepared.tensors.reduce((sum, t) => sum + tensorBytes(t), 0);
  if (n === 1) return { files, index: undefined, totalSize, weightMap };
  const index = `${base}.${ext}.index.json`;
  const sorted = Object.fromEntries([...weightMap].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const json = `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: sorted }, null, 2)}\n`;
  await writeFileAtomic(join(dir, index), (sink) => sink.write(new TextEncoder().encode(json)));
  return { files, index, totalSize, weightMap };
}

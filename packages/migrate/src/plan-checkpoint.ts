/**
 * Planning a device map for a checkpoint from its metadata alone: names, dtypes and shapes come
 * from the lazily opened file, no tensor data is read.
 *
 * @module
 */

import { open, type CheckpointEntry, type CheckpointSource } from '@x/checkpoint';
import { dtypeInfo, tfItemSize } from '@x/device';
import { planDeviceMap, type DevicePlan, type PlanOptions, type SizeEntry } from './plan-device-map.js';

/**
 * Result of {@link planCheckpoint}.
 *
 * @example
 * ```ts
 * const { plan, entries, bytesRead }: CheckpointPlan = await planCheckpoint('model.pt', { maxMemory: { cpu: '8GiB' } });
 * ```
 */
export interface CheckpointPlan {
  /** The planned device map with per-device totals and budgets. */
  plan: DevicePlan;
  /** The sizes the plan was made from. */
  entries: SizeEntry[];
  /** Tensor data bytes read while planning: always 0. */
  bytesRead: number;
}

/**
 * Planner sizes of checkpoint entries: the bytes each tensor takes once loaded into TF.js (numel ×
 * the TF.js item size its dtype converts to: float16 counts 4 bytes per element, int64 4), or the
 * file's bytes for kinds TF.js has no dtype for; a tensor listed under a second name is tied to
 * the first.
 *
 * @example
 * ```ts
 * checkpointSizeEntries(ckpt.entries); // [{ name: 'features.0.weight', bytes: 288 }, …]
 * ```
 */
function checkpointSizeEntries(entries: readonly CheckpointEntry[]): SizeEntry[] {
  const first = new Map<object, string>();
  return entries.map((e) => {
    const tied = first.get(e.ref);
    if (tied !== undefined) return { name: e.name, bytes: 0, tiedTo: tied };
    first.set(e.ref, e.name);
    const tf = dtypeInfo(e.dtype).tf;
    const bytes = tf === undefined ? e.byteLength : e.shape.reduce((a, b) => a * b, 1) * tfItemSize(tf);
    return { name: e.name, bytes };
  });
}

/**
 * Opens a checkpoint lazily, sizes its tensors (bytes once loaded into TF.js) and plans a
 * device map under `options.maxMemory` (accelerate's algorithm, `planDeviceMap`), reading no
 * tensor data.
 *
 * @throws MigrateError `PLAN_DOES_NOT_FIT`, `MEMORY_INVALID`, `DEVICE_MAP_INVALID`; CheckpointError
 *   for unreadable files.
 * @example
 * ```ts
 * const { plan } = await planCheckpoint('model.pt', { strategy: 'balanced', maxMemory: { 'cuda:0': '2GiB', cpu: '8GiB' } });
 * plan.deviceMap; // { features: 'cuda:0', classifier: 'cpu' }
 * ```
 */
export async function planCheckpoint(source: CheckpointSource, options: PlanOptions): Promise<CheckpointPlan> {
  const ckpt = await open(source);
  let entries: SizeEntry[];
  let bytesRead: number;
  try {
    entries = checkpointSizeEntries(ckpt.entries);
    bytesRead = ckpt.bytesRead;
  } finally {
    await ckpt.close();
  }
  return { plan: planDeviceMap(entries, options), entries, bytesRead };
}

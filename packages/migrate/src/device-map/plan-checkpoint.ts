/**
 * Planning a device map for a checkpoint from its metadata alone: names, dtypes, shapes and
 * storage views come from the lazily opened file, no tensor data is read.
 *
 * @module
 */

import { open, type CheckpointEntry, type CheckpointFormat, type CheckpointSource } from '@x/checkpoint';
import { isTensorRef } from '@x/checkpoint/internal';
import { dtypeInfo, quote, tfItemSize } from '@x/device';
import { MigrateError } from '../errors.js';
import { planDeviceMap, type DevicePlan, type PlanOptions, type SizeEntry } from './plan.js';

/**
 * Which bytes a tensor is planned with: `'tfjs'` — what TensorFlow.js will hold once loaded
 * (float16 and bfloat16 widen to 4-byte float32, int64 narrows to 4-byte int32); `'torch'` — the
 * tensor's own dtype, as torch and accelerate count it (float16/bfloat16 at 2 bytes).
 */
export type PlanSizing = 'tfjs' | 'torch';

/** Options of {@link planCheckpoint}. */
export interface PlanCheckpointOptions extends PlanOptions {
  /** Bytes to plan with; default `'tfjs'`, the bytes this library's backend really holds. */
  sizing?: PlanSizing;
  /**
   * Tensor names in the model's definition order (`list(model.state_dict())`), which decides
   * the plan. Default: the file's order — right for `.bin` files (`torch.save(state_dict())`
   * keeps it), but safetensors files and indexes store names sorted, so the definition order
   * is lost there. Names the list lacks follow the listed ones in file order.
   */
  order?: readonly string[];
  /**
   * Tensors the model holds that no checkpoint does (non-persistent buffers such as Llama's
   * `rotary_emb.inv_freq` or BERT's `embeddings.position_ids`), which accelerate counts because
   * it sizes the instantiated model. Added after the file's tensors, then ordered by `order`.
   */
  extraTensors?: readonly SizeEntry[];
}

/** Result of {@link planCheckpoint}. */
export interface CheckpointPlan {
  /** The planned device map with per-device totals and budgets. */
  plan: DevicePlan;
  /** The sizes the plan was made from, in the order planned. */
  entries: SizeEntry[];
  /** Which bytes the plan counts. */
  sizing: PlanSizing;
  /** Tensors planned at other than their file size because TF.js holds another item size (`'tfjs'` only). */
  resized: { name: string; dtype: string; fileBytes: number; plannedBytes: number }[];
  /** The checkpoint's format. */
  format: CheckpointFormat;
  /** Tensor data bytes read while planning: always 0. */
  bytesRead: number;
}

/**
 * Planner sizes of checkpoint entries. Names that view the same storage with the same offset,
 * shape, strides and dtype are one tensor (a tied weight, whatever object identity the pickle
 * gave them): later names are `tiedTo` the first. Bytes follow `sizing`; kinds TF.js has no dtype
 * for count the file's bytes.
 */
function checkpointSizeEntries(entries: readonly CheckpointEntry[], sizing: PlanSizing): SizeEntry[] {
  const views = new Map<object, Map<string, string>>();
  return entries.map((e) => {
    const [owner, view] = viewKey(e);
    const seen = views.get(owner) ?? new Map<string, string>();
    views.set(owner, seen);
    const tied = seen.get(view);
    if (tied !== undefined) return { name: e.name, bytes: 0, tiedTo: tied };
    seen.set(view, e.name);
    return { name: e.name, bytes: plannedBytes(e, sizing) };
  });
}

/** The storage (or, for kinds without one, the description object) and the view into it. */
function viewKey(e: CheckpointEntry): [object, string] {
  if (!isTensorRef(e.ref)) return [e.ref, ''];
  const { storage, offset, shape, stride, dtype } = e.ref;
  return [storage, `${dtype}|${offset}|${shape.join(',')}|${stride.join(',')}`];
}

function plannedBytes(e: CheckpointEntry, sizing: PlanSizing): number {
  const numel = e.shape.reduce((a, b) => a * b, 1);
  if (e.kind !== 'strided') return e.byteLength;
  const info = dtypeInfo(e.dtype);
  if (sizing === 'torch' || info.tf === undefined) return numel * info.itemSize;
  return numel * tfItemSize(info.tf);
}

function ordered(entries: readonly SizeEntry[], order: readonly string[] | undefined): SizeEntry[] {
  if (order === undefined) return [...entries];
  const rank = new Map(order.map((name, i) => [name, i]));
  return entries
    .map((e, i) => [rank.get(e.name) ?? order.length + i, e] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, e]) => e);
}

/**
 * Opens a checkpoint lazily, sizes its tensors (by default the bytes TF.js will hold, see
 * {@link PlanSizing}), finds tied names by shared storage views, and plans a device map under
 * `options.maxMemory` with accelerate's algorithm ({@link planDeviceMap}), reading no tensor data.
 *
 * @throws MigrateError `PLAN_DOES_NOT_FIT`, `MEMORY_INVALID`, `DEVICE_MAP_INVALID` (also for an
 *   `extraTensors` name the file already holds); CheckpointError for unreadable files.
 * @example
 * ```ts
 * const { plan, sizing } = await planCheckpoint('pytorch_model.bin', {
 *   strategy: 'balanced',
 *   maxMemory: { 'cuda:0': '2GiB', 'cuda:1': '2GiB', cpu: '8GiB' },
 *   noSplit: ['transformer.h.*'],
 * });
 * plan.deviceMap; // { 'transformer.wte': 'cuda:0', …, lm_head: 'cuda:0' } (lm_head is tied to wte)
 * ```
 */
export async function planCheckpoint(
  source: CheckpointSource,
  options: PlanCheckpointOptions,
): Promise<CheckpointPlan> {
  const sizing = options.sizing ?? 'tfjs';
  if (sizing !== 'tfjs' && sizing !== 'torch') {
    throw new MigrateError(
      'DEVICE_MAP_INVALID',
      `sizing must be 'tfjs' or 'torch'; found ${quote(String(sizing), '')}`,
      { sizing },
    );
  }
  const ckpt = await open(source);
  let fileEntries: SizeEntry[];
  let bytesRead: number;
  const resized: CheckpointPlan['resized'] = [];
  try {
    fileEntries = checkpointSizeEntries(ckpt.entries, sizing);
    ckpt.entries.forEach((e, i) => {
      const planned = fileEntries[i] as SizeEntry;
      if (planned.tiedTo === undefined && planned.bytes !== e.byteLength) {
        resized.push({ name: e.name, dtype: e.dtype, fileBytes: e.byteLength, plannedBytes: planned.bytes });
      }
    });
    bytesRead = ckpt.bytesRead;
  } finally {
    await ckpt.close();
  }
  const entries = ordered([...fileEntries, ...(options.extraTensors ?? [])], options.order);
  return { plan: planDeviceMap(entries, options), entries, sizing, resized, format: ckpt.format, bytesRead };
}

/**
 * One line saying which bytes a checkpoint plan counts, for `x-migrate plan`: with `'tfjs'`
 * sizing, the tensors whose planned size differs from the file's, per dtype.
 */
export function describeSizing({ sizing, resized }: Pick<CheckpointPlan, 'sizing' | 'resized'>): string {
  if (sizing === 'torch') {
    return "sizes: each tensor's own dtype, as torch and accelerate count it (--sizing torch); TF.js holds float16/bfloat16 at 4 bytes per element";
  }
  if (resized.length === 0) return 'sizes: bytes TF.js holds (--sizing tfjs), equal to the file sizes for every tensor';
  const byDtype = new Map<string, { count: number; file: number; planned: number }>();
  for (const r of resized) {
    const sum = byDtype.get(r.dtype) ?? { count: 0, file: 0, planned: 0 };
    byDtype.set(r.dtype, { count: sum.count + 1, file: sum.file + r.fileBytes, planned: sum.planned + r.plannedBytes });
  }
  const parts = [...byDtype].map(([dtype, s]) => `${dtype} ×${s.count} planned at ${s.planned} B (file ${s.file} B)`);
  return `sizes: bytes TF.js holds (--sizing tfjs): ${parts.join(', ')}; --sizing torch counts the file's dtypes, as accelerate does`;
}

/**
 * `load()`: `torch.load` for TF.js. Opens the checkpoint, checks where every storage goes before
 * creating anything, reads each storage once and returns the same structure `torch.load` returns
 * with tensors in place of the file's tensor descriptions, plus a report.
 *
 * @module
 */
import type { DeviceRuntime, LedgerSnapshot, TfDType, TorchDType } from '@x/device';
import type { CheckpointEntry, CheckpointFormat, PathKey } from './formats/container.js';
import { checkBound } from './limits.js';
import type {
  AnyTensorRef,
  DTypeConversion,
  Materialised,
  MaterialiseResult,
  SparseTensors,
} from './tensors/materialise.js';
import { RawTensor } from './tensors/materialise.js';
import { open, scheduler, type Checkpoint, type CheckpointSource, type LoadOptions } from './open.js';
import { replaceEntry } from './formats/describe-tensors.js';

/** Where one tensor went. */
export interface TensorPlacement {
  readonly name: string;
  readonly path: readonly PathKey[];
  /** The device it was placed on (`String(device)`, e.g. `cpu`, `cuda:0`, `meta`). */
  readonly device: string;
  /** TF.js dtype of the tensor (the torch dtype in `'raw'` mode). */
  readonly dtype: TfDType | TorchDType;
  /** dtype in the file. */
  readonly torchDType: TorchDType;
  readonly kind: CheckpointEntry['kind'];
}

/** A dtype change of one named tensor. */
export interface ConversionRecord extends DTypeConversion {
  readonly name: string;
}

/** What a load did. */
export interface LoadReport {
  readonly format: CheckpointFormat;
  /** One line per tensor entry, in order. */
  readonly tensors: readonly TensorPlacement[];
  /** Every dtype change (exact widenings, narrowings, lossy roundings, dequantizations), in order. */
  readonly conversions: readonly ConversionRecord[];
  /** The runtime's ledger after the load (bytes per device, peak, copies, bytes moved). */
  readonly ledger: LedgerSnapshot;
  /** Storage bytes read from the source (mapped bytes count as read, though pages load only when touched). */
  readonly bytesRead: number;
  /** `'mmap'`: storages are views over a mapping of the file (Node, `@x/mmap` built); `'read'`: copies. */
  readonly io: 'mmap' | 'read';
}

/** What {@link load} returns. */
export interface LoadResult<T = unknown> {
  /**
   * The object `torch.load` returns: `Map`s (in order, any key type), `OrderedDict`, arrays,
   * `Tuple`s, `bigint`s, … with tensors (`tf.Tensor`, `MetaTensor`, `RawTensor` in raw mode,
   * {@link SparseTensors}) where the file has tensors.
   */
  readonly value: T;
  readonly report: LoadReport;
}

/**
 * Storage bytes read ahead of the tensor being converted (at least the next tensor's are); four
 * times as many when conversions run elsewhere, so other threads have work while one converts a
 * large tensor.
 */
const READ_AHEAD = 32 * 2 ** 20;

/**
 * Materialises every tensor of an opened checkpoint and closes it. Every storage's target device
 * is resolved and checked first (nothing is created when one is unavailable); storages are read
 * once each, views of one storage share that read, and each storage's bytes are dropped after
 * its last tensor. Reads run up to 32 MiB ahead of the conversions; when conversions run
 * elsewhere (worker threads in Node), up to 128 MiB, and every tensor being read is materialised
 * as soon as its bytes arrive, so they convert in parallel. Tensors created before a failure are disposed.
 */
export async function loadCheckpoint<T = unknown>(ckpt: Checkpoint): Promise<LoadResult<T>> {
  const created: MaterialiseResult[] = [];
  const started: Promise<MaterialiseResult>[] = []; // materialisations of distinct[0 .. started.length - 1]
  let runtime: DeviceRuntime | undefined;
  try {
    const s = scheduler(ckpt);
    runtime = await s.runtime();
    const distinct = [...new Set(ckpt.entries.map((e) => e.ref))];
    const plan = await s.preparePlan(distinct, runtime);
    let bytesTotal = 0;
    for (const [s, target] of plan.storages) if (target.type !== 'meta') bytesTotal += s.byteLength;
    checkBound(bytesTotal, ckpt.limits.maxTotalBytes, 'maxTotalBytes', 'bytes of all storages');
    for (const ref of distinct) s.retain(ref, plan);

    const mode = ckpt.options.dtype ?? 'convert';
    const results = new Map<AnyTensorRef, MaterialiseResult>();
    const sizes = new Map(ckpt.entries.map((e) => [e.ref, e.byteLength]));
    const readAheadBytes = s.convertsElsewhere ? 4 * READ_AHEAD : READ_AHEAD;
    let next = 0; // distinct[next] is the first ref whose storages are not being read yet
    let window = 0; // bytes of distinct[current + 1 .. next - 1]
    /** Starts reading the refs after distinct[current]: at least one, more while under `readAheadBytes`. */
    const readAhead = (current: number): void => {
      if (current < next) window -= sizes.get(distinct[current]!)!;
      next = Math.max(next, current + 1);
      while (next < distinct.length && (next === current + 1 || window < readAheadBytes)) {
        s.prefetch(distinct[next]!, plan);
        window += sizes.get(distinct[next]!)!;
        next++;
      }
    };
    const firstName = new Map<AnyTensorRef, string>();
    for (const e of ckpt.entries) if (!firstName.has(e.ref)) firstName.set(e.ref, e.name);
    /** Starts materialising distinct[started.length]. */
    const start = (rt: DeviceRuntime): void => {
      const ref = distinct[started.length]!;
      const p = s.materialise(ref, firstName.get(ref)!, rt, plan, mode);
      p.then(
        (r) => created.push(r),
        () => undefined,
      );
      started.push(p);
    };
    const tensorsTotal = ckpt.entries.length;
    for (let i = 0; i < tensorsTotal; i++) {
      const entry = ckpt.entries[i]!;
      if (!results.has(entry.ref)) {
        const k = results.size; // `distinct` is in order of first appearance: entry.ref is distinct[k]
        readAhead(k);
        while (started.length < (s.convertsElsewhere ? next : k + 1)) start(runtime);
        const result = await started[k]!;
        s.release(entry.ref, plan);
        results.set(entry.ref, result);
      }
      ckpt.options.onProgress?.({ bytesDone: ckpt.bytesRead, bytesTotal, tensorsDone: i + 1, tensorsTotal });
    }

    let value: unknown = ckpt.container.root;
    for (const entry of ckpt.entries) {
      const placed = results.get(entry.ref)!.value;
      if (!replaceEntry(entry, placed)) value = placed;
    }
    const report: LoadReport = {
      format: ckpt.format,
      tensors: ckpt.entries.map((e) => placement(e, results.get(e.ref)!)),
      conversions: ckpt.entries.flatMap((e) => {
        const c = results.get(e.ref)!.conversion;
        return c === undefined ? [] : [{ name: e.name, ...c }];
      }),
      ledger: runtime.ledger.snapshot(),
      bytesRead: ckpt.bytesRead,
      io: ckpt.io,
    };
    return { value: value as T, report };
  } catch (e) {
    await Promise.allSettled(started);
    if (runtime !== undefined) for (const r of created) disposeAll(r.value, runtime);
    throw e;
  } finally {
    await ckpt.close();
  }
}

/**
 * Reads a checkpoint into TF.js tensors, like `torch.load(f, map_location=…)`: `mapLocation`
 * takes torch's forms, and without it every storage goes where it was saved — a CUDA checkpoint on
 * a machine without CUDA fails with `DEVICE_UNAVAILABLE` (torch's text plus the `mapLocation` that
 * fixes it) before any tensor is created. With a `mapLocation`, each storage goes straight to its
 * target (the ledger shows bytes placed only there, none moved).
 *
 * @example
 * ```ts
 * const { value, report } = await load(bytes, { mapLocation: 'cpu' });
 * const sd = value as Map<string, Tensor>;
 * report.tensors[0]; // { name: 'weight', device: 'cpu', dtype: 'float32', torchDType: 'float16', … }
 * ```
 * @throws `CheckpointError` `SOURCE_INVALID` (not a source) or `OPTION_INVALID` (an option
 *   of the wrong type or value) before anything is read; `SOURCE_IO` / `INPUT_TRUNCATED` when the
 *   source cannot be read; the format, zip, pickle and limit codes for a malformed, unsafe or
 *   oversized file (README "Errors").
 * @throws `DeviceError` (from `@x/device`) `MAP_LOCATION_INVALID`, `DEVICE_INVALID` or
 *   `LOCATION_UNKNOWN` for a `mapLocation` it cannot use and `DEVICE_UNAVAILABLE` for a device
 *   the runtime does not have, all before any tensor is created; other codes of the runtime's
 *   own (`BACKEND_UNBOUND`). An error thrown by a `mapLocation` function or an `onProgress`
 *   callback propagates as thrown.
 */
export async function load<T = unknown>(source: CheckpointSource, options: LoadOptions = {}): Promise<LoadResult<T>> {
  return loadCheckpoint<T>(await open(source, options));
}

function placement(e: CheckpointEntry, r: MaterialiseResult): TensorPlacement {
  return { name: e.name, path: e.path, device: String(r.device), dtype: r.dtype, torchDType: e.dtype, kind: e.kind };
}

function disposeAll(value: Materialised, runtime: DeviceRuntime): void {
  if (value instanceof RawTensor) return;
  if ('layout' in value) {
    for (const part of Object.values(value as SparseTensors))
      if (typeof part === 'object' && !Array.isArray(part)) disposeAll(part as Materialised, runtime);
    return;
  }
  runtime.dispose(value);
}

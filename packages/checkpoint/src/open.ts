/**
 * `open()`: a lazy handle on a checkpoint. The file's structure is parsed (zip directory, pickle);
 * tensor data is not read until a tensor is asked for, and then only its own storage, with one
 * positional read.
 *
 * @module
 */
import {
  createDeviceRuntime,
  dtypeInfo,
  quote,
  restoreLocation,
  tfItemSize,
  type Device,
  type DeviceLike,
  type DeviceRuntime,
  type DTypeMode,
  type MapLocation,
  type StorageInfo,
  type TensorData,
} from '@x/device';
import type { CheckpointEntry, CheckpointFormat } from './formats/container.js';
import { CheckpointError } from './errors.js';
import type { FormatContainer } from './formats/format-reader.js';
import { openFormat } from './formats/index.js';
import { callerByteSource, checkLoadOptions } from './load-arguments.js';
import { checkBound, type Limits } from './limits.js';
import {
  describeRef,
  gather,
  materialise,
  numel,
  storagesOf,
  type AnyTensorRef,
  type Materialised,
  type MaterialiseResult,
  type WideningConverter,
} from './tensors/materialise.js';
import type { Progress } from './progress.js';
import { readContext, type ReadContext, type ReadOptions } from './read-context.js';
import { fromBlob, fromBytes, fromUrl, type ByteSource } from './source.js';
import type { InlineTensorRef } from './pickle/tensor-refs.js';
import type { StorageRef, TensorRef } from './pickle/values.js';

/**
 * What `open` / `load` / `inspect` read: a {@link ByteSource}, bytes, a `Blob` / `File`, or a URL
 * (HTTP Range requests). The Node entry also takes file paths and `file:` URLs.
 */
export type CheckpointSource = ByteSource | Uint8Array | ArrayBuffer | Blob | URL | string;

/** Options of `open`, `load` and `inspect`. */
export interface LoadOptions extends ReadOptions {
  /**
   * torch's `map_location`: a device for everything (`'cpu'`), a record remapping saved location
   * tags (`{ 'cuda:1': 'cpu' }`), or a function `(storage, savedLocation) => device | undefined`.
   * Default: every storage goes where it was saved, and a device that is not available fails with
   * `DEVICE_UNAVAILABLE` before any tensor is created.
   */
  readonly mapLocation?: MapLocation;
  /**
   * Devices and backends (default: one shared `createDeviceRuntime({ devices: ['cpu'] })`: cpu,
   * meta, and wasm when installed, its backend loaded only when a tensor goes there).
   */
  readonly runtime?: DeviceRuntime;
  /**
   * `'convert'` (default): dtypes TF.js lacks are converted, every lossy step reported;
   * `'strict'`: a lossy conversion fails with `TENSOR_LOSSY_DTYPE`; `'raw'`: {@link RawTensor}s of
   * the original elements instead of TF.js tensors.
   */
  readonly dtype?: DTypeMode;
  /** Called after each tensor of a `load`, and after each tensor an `inspect` hashes. */
  readonly onProgress?: (progress: Progress) => void;
  /**
   * Node entry, file paths: map the file (private, copy-on-write) so float32, int32, bool and raw
   * storages become tensors over the mapping without a copy, and half types widen straight from
   * it. Default `true`; used only where the `@x/mmap` addon is built (`report.io` says which
   * path was taken). `false`: positional reads into new buffers.
   */
  readonly mmap?: boolean;
}

/** Options of {@link Checkpoint.tensor}. */
export interface TensorOptions {
  /** Put the tensor here instead of where `mapLocation` sends it. */
  readonly device?: DeviceLike;
  /** dtype mode for this tensor (default: the checkpoint's). */
  readonly dtype?: DTypeMode;
}

/** A source ready to open, with what its kind allows: opening sibling files, closing. */
export interface ResolvedSource {
  readonly source: ByteSource;
  /** Opens a file next to this one (sharded indexes). */
  readonly resolve?: ((relativeName: string) => Promise<ByteSource>) | undefined;
  /** Closes what resolving opened (file handles). */
  readonly close?: (() => Promise<void>) | undefined;
  /** `'mmap'` when large reads are views over a mapping of the file; absent: copies. */
  readonly io?: 'mmap' | 'read' | undefined;
}

let sharedRuntime: Promise<DeviceRuntime> | undefined;

/** The runtime used when none is given, created on first use. */
function defaultRuntime(): Promise<DeviceRuntime> {
  sharedRuntime ??= createDeviceRuntime({ devices: ['cpu'] });
  return sharedRuntime;
}

/** One user's hold on a storage's bytes. */
interface TakenBytes {
  readonly bytes: Promise<Uint8Array>;
  /**
   * Hands the bytes over for overwriting when no other user ever took them; the cache then
   * forgets them (a later user reads the storage again).
   */
  claim(): boolean;
}

/**
 * Reference-counted storage bytes: a storage is read on first use and dropped when its last
 * declared user released it, so bytes live only while some tensor still needs them. `widen`
 * asks the reader to lay the bytes out for an in-place widening (see {@link Checkpoint}).
 */
class StorageCache {
  readonly #entries = new Map<StorageRef, { users: number; bytes: Promise<Uint8Array> | undefined; takers: number }>();
  readonly #read: (s: StorageRef, widen: boolean) => Promise<Uint8Array>;

  constructor(read: (s: StorageRef, widen: boolean) => Promise<Uint8Array>) {
    this.#read = read;
  }

  retain(storage: StorageRef): void {
    const e = this.#entries.get(storage);
    if (e === undefined) this.#entries.set(storage, { users: 1, bytes: undefined, takers: 0 });
    else e.users++;
  }

  /** Starts reading a retained storage (errors surface when the bytes are taken). */
  prefetch(storage: StorageRef, widen: boolean): void {
    const e = this.#entries.get(storage);
    if (e === undefined) return;
    e.bytes ??= this.#read(storage, widen);
    e.bytes.catch(() => undefined);
  }

  /** The bytes (read at most once while retained; read uncached, and claimable, otherwise). */
  take(storage: StorageRef, widen: boolean): TakenBytes {
    const e = this.#entries.get(storage);
    if (e === undefined) return { bytes: this.#read(storage, widen), claim: () => true };
    const bytes = (e.bytes ??= this.#read(storage, widen));
    e.takers++;
    return {
      bytes,
      claim() {
        if (e.bytes !== bytes || e.takers !== 1) return false;
        e.bytes = undefined;
        e.takers = 0;
        return true;
      },
    };
  }

  release(storage: StorageRef): void {
    const e = this.#entries.get(storage);
    if (e !== undefined && --e.users === 0) this.#entries.delete(storage);
  }
}

/** Reads a checkpoint's {@link Scheduler} (set by `Checkpoint`'s static block, which can see its private field). */
let schedulerOf: (ckpt: Checkpoint) => Scheduler;

/**
 * A checkpoint opened lazily. Names, dtypes, shapes, saved locations and sizes are known without
 * reading tensor data; {@link Checkpoint.tensor} materialises one tensor.
 *
 * A storage that only one tensor uses and whose dtype widens (float16, bfloat16, int8, … to 4-byte
 * TF.js elements) is read into the back of a buffer sized for the converted tensor and converted
 * there, front to back: no second allocation, no copy. With a {@link WideningConverter} (the Node
 * entry's worker threads), large ones are allocated by it (shared memory) and converted off this thread.
 */
export class Checkpoint {
  readonly format: CheckpointFormat;
  /** Every tensor, in depth-first (pickling) order. */
  readonly entries: readonly CheckpointEntry[];
  readonly names: readonly string[];
  /** The parsed container (object graph with tensor descriptions, storage reader). */
  readonly container: FormatContainer;
  readonly options: LoadOptions;
  readonly limits: Limits;
  /** How storage bytes arrive: views over a mapping of the file, or copies. */
  readonly io: 'mmap' | 'read';
  readonly #byName: Map<string, CheckpointEntry>;
  readonly #scheduler: Scheduler;
  readonly #close: (() => Promise<void>) | undefined;
  #closed = false;

  /**
   * Use {@link open}.
   *
   * @param limits - `options.limits` resolved.
   * @param close - Closes what opening the source opened.
   * @param converter - Where large widening conversions run (default: this thread).
   */
  constructor(
    container: FormatContainer,
    options: LoadOptions,
    limits: Limits,
    close: (() => Promise<void>) | undefined,
    converter?: WideningConverter,
    io: 'mmap' | 'read' = 'read',
  ) {
    this.container = container;
    this.format = container.format;
    this.options = options;
    this.limits = limits;
    this.#close = close;
    this.io = io;
    this.entries = container.entries;
    const names = new Array<string>(this.entries.length);
    this.#byName = new Map();
    for (let i = 0; i < names.length; i++) {
      const e = this.entries[i]!;
      names[i] = e.name;
      this.#byName.set(e.name, e);
    }
    this.names = Object.freeze(names);
    this.#scheduler = new Scheduler(this, converter, () => this.#assertOpen());
  }

  static {
    schedulerOf = (ckpt) => ckpt.#scheduler;
  }

  /** Storage bytes read so far. */
  get bytesRead(): number {
    return this.#scheduler.bytesRead;
  }

  /** The entry called `name`; throws `STORAGE_MISSING` for an unknown name. */
  entry(name: string): CheckpointEntry {
    const e = this.#byName.get(name);
    if (e === undefined) {
      throw new CheckpointError(
        'STORAGE_MISSING',
        `no tensor named ${quote(name)} in this checkpoint (${this.names.length} tensors)`,
        {
          details: { name: name.slice(0, 64) },
        },
      );
    }
    return e;
  }

  /**
   * The storages `entry` views (a quantized tensor's data, scales and zero points; a sparse
   * tensor's index and value storages; none for meta and inline tensors), without reading them.
   *
   * @example
   * ```ts
   * ckpt.storagesOf(ckpt.entry('lm_head.weight'))[0] === ckpt.storagesOf(ckpt.entry('wte.weight'))[0]; // tied
   * ```
   */
  storagesOf(entry: CheckpointEntry): readonly StorageRef[] {
    return storagesOf(entry.ref);
  }

  /**
   * Materialises one tensor: reads only the storages it uses (shared with concurrent calls for
   * other views of the same storage) and places it where `options.device`, else `mapLocation`,
   * says. Placement is checked before anything is read.
   */
  async tensor(name: string, options: TensorOptions = {}): Promise<Materialised> {
    this.#assertOpen();
    const { ref } = this.entry(name);
    const s = this.#scheduler;
    const runtime = await s.runtime();
    const plan = await s.preparePlan([ref], runtime, options.device);
    return (await s.materialise(ref, name, runtime, plan, options.dtype ?? this.options.dtype ?? 'convert')).value;
  }

  /**
   * Where every storage (and inline tensor) goes with this checkpoint's `mapLocation`, checked
   * against `runtime`; throws `DEVICE_UNAVAILABLE` (torch's text plus the fix) or
   * `TENSOR_TOO_LARGE`. Nothing is read.
   */
  placement(runtime: DeviceRuntime): Placement {
    return this.#scheduler.plan([...new Set(this.entries.map((e) => e.ref))], runtime);
  }

  /** The bytes of one storage of this checkpoint, shared with other users while a load holds them. */
  storage(storage: StorageRef): Promise<Uint8Array> {
    this.#assertOpen();
    return this.#scheduler.take(storage);
  }

  /** Releases the source (file handles). Tensors already created stay valid. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.container.close();
    } finally {
      await this.#close?.();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new CheckpointError('SOURCE_IO', 'the checkpoint is closed');
  }
}

/** Checked target devices of the storages and inline tensors of some tensors. */
export interface Placement {
  readonly storages: ReadonlyMap<StorageRef, Device>;
  readonly inline: ReadonlyMap<InlineTensorRef, Device>;
}

/**
 * What `load` and `inspect` drive to read a whole checkpoint: placement, reference-counted storage
 * reads and read-ahead (not part of the public `Checkpoint`).
 */
export function scheduler(ckpt: Checkpoint): Scheduler {
  return schedulerOf(ckpt);
}

/**
 * The reading side of one {@link Checkpoint}: placement with one `mapLocation` resolver, the
 * storage cache, and in-place widening.
 */
class Scheduler {
  readonly #ckpt: Checkpoint;
  readonly #cache: StorageCache;
  /** torch's `restore_location`, built once from `mapLocation`. */
  readonly #restore: (storage: StorageInfo) => Device;
  /** Storages read for widening in place: one tensor uses each, and its dtype widens. */
  #widening: ReadonlySet<StorageRef> | undefined;
  /** Buffers this checkpoint allocated for storages (their bytes may be overwritten once claimed). */
  readonly #owned = new WeakSet<ArrayBufferLike>();
  readonly #converter: WideningConverter | undefined;
  readonly #assertOpen: () => void;
  #bytesRead = 0;

  constructor(ckpt: Checkpoint, converter: WideningConverter | undefined, assertOpen: () => void) {
    this.#ckpt = ckpt;
    this.#converter = converter;
    this.#assertOpen = assertOpen;
    this.#restore = restoreLocation(ckpt.options.mapLocation);
    this.#cache = new StorageCache(async (s, widen) => {
      const bytes = await ckpt.container.readStorage(s, widen && this.#widens(s) ? this.#widenable(s) : undefined);
      this.#bytesRead += bytes.length;
      return bytes;
    });
  }

  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Whether large conversions run off this thread (a converter was given), so materialising several tensors at once pays. */
  get convertsElsewhere(): boolean {
    return this.#converter !== undefined && this.#converter.threads > 0;
  }

  runtime(): Promise<DeviceRuntime> {
    const { runtime } = this.#ckpt.options;
    return runtime === undefined ? defaultRuntime() : Promise.resolve(runtime);
  }

  /**
   * Resolves and checks the target device of every storage (and inline tensor) of `refs`, before
   * any tensor is created; throws `DEVICE_UNAVAILABLE` (torch's text plus the fix) or
   * `TENSOR_TOO_LARGE`.
   */
  plan(refs: readonly AnyTensorRef[], runtime: DeviceRuntime, override?: DeviceLike): Placement {
    const { limits } = this.#ckpt;
    const forced = override === undefined ? undefined : runtime.check(override);
    const storages = new Map<StorageRef, Device>();
    const inline = new Map<InlineTensorRef, Device>();
    const where = (info: StorageInfo): Device => forced ?? runtime.check(this.#restore({ ...info }));
    for (const ref of refs) {
      for (const s of storagesOf(ref)) {
        if (storages.has(s)) continue;
        checkBound(s.byteLength, limits.maxTensorBytes, 'maxTensorBytes', `storage ${quote(s.key)} (bytes)`);
        storages.set(s, where(s));
      }
      if (!('kind' in ref) || ref.kind === 'quantized') {
        // a view can be far larger than its storage (stride 0): bound what materialising allocates
        const { dtype, shape } = describeRef(ref);
        checkBound(
          numel(shape) * dtypeInfo(dtype).itemSize,
          limits.maxTensorBytes,
          'maxTensorBytes',
          'tensor elements (bytes)',
        );
      }
      if ('kind' in ref && ref.kind === 'inline' && !inline.has(ref)) {
        const byteLength = ref.data.byteLength;
        inline.set(
          ref,
          where({
            key: `inline:${ref.device}`,
            dtype: ref.dtype,
            numel: numel(ref.shape),
            byteLength,
            location: ref.device,
          }),
        );
      }
    }
    return { storages, inline };
  }

  /**
   * {@link Scheduler.plan}, then initialises the backends of the planned devices
   * (`runtime.prepare`) and checks them again, so a backend that failed to start fails here
   * (`DEVICE_UNAVAILABLE`), before any tensor is created. `mapLocation` is asked once per storage.
   */
  async preparePlan(refs: readonly AnyTensorRef[], runtime: DeviceRuntime, override?: DeviceLike): Promise<Placement> {
    const plan = this.plan(refs, runtime, override);
    const devices = new Set([...plan.storages.values(), ...plan.inline.values()].map(String));
    await runtime.prepare(devices);
    for (const d of devices) runtime.check(d);
    return plan;
  }

  /**
   * Materialises `ref` with a placement from {@link Scheduler.plan}: reads its storages through
   * the shared cache, then releases them. Storages placed on `meta` are not read.
   */
  async materialise(
    ref: AnyTensorRef,
    name: string,
    runtime: DeviceRuntime,
    plan: Placement,
    mode: DTypeMode,
  ): Promise<MaterialiseResult> {
    this.#assertOpen();
    const needed = readable(ref, plan);
    for (const s of needed) this.#cache.retain(s);
    try {
      const taken = new Map(needed.map((s) => [s, this.#cache.take(s, mode !== 'raw')]));
      for (const t of taken.values()) t.bytes.catch(() => undefined); // a failed read is thrown by the await below, never left unhandled
      const bytes = new Map<StorageRef, Uint8Array>();
      for (const [s, t] of taken) bytes.set(s, await t.bytes);
      const converted = mode === 'raw' ? undefined : await this.#convertElsewhere(ref, bytes, taken);
      return materialise(ref, name, {
        runtime,
        mode,
        bytes: (s) => bytes.get(s)!,
        consume: (s) => this.#owned.has(bytes.get(s)!.buffer) && taken.get(s)!.claim(),
        converted: (s) => (converted !== undefined && s === (ref as TensorRef).storage ? converted : undefined),
        target: (s) => plan.storages.get(s)!,
        inlineTarget: (r) => plan.inline.get(r)!,
      });
    } finally {
      for (const s of needed) this.#cache.release(s);
    }
  }

  /** The bytes of one storage, shared with other users while retained. */
  take(storage: StorageRef): Promise<Uint8Array> {
    return this.#cache.take(storage, false).bytes;
  }

  /**
   * Declares one more future user of each storage `ref` reads (with a `plan`: except those placed
   * on `meta`), so bytes read for one user stay cached until the last one calls
   * {@link Scheduler.release}: views of one storage are read once.
   */
  retain(ref: AnyTensorRef, plan?: Placement): void {
    for (const s of readable(ref, plan)) this.#cache.retain(s);
  }

  /** Drops one user declared by {@link Scheduler.retain}. */
  release(ref: AnyTensorRef, plan?: Placement): void {
    for (const s of readable(ref, plan)) this.#cache.release(s);
  }

  /**
   * Starts reading the storages of a retained `ref` without waiting, so the next tensor's read
   * overlaps this one's conversion (errors surface when the bytes are used).
   */
  prefetch(ref: AnyTensorRef, plan?: Placement): void {
    for (const s of readable(ref, plan)) this.#cache.prefetch(s, this.#ckpt.options.dtype !== 'raw');
  }

  /** Whether `storage` is read for widening in place (decided on the first read, over every entry). */
  #widens(storage: StorageRef): boolean {
    this.#widening ??= this.#ckpt.io === 'mmap' ? new Set() : wideningStorages(this.#ckpt.entries);
    return this.#widening.has(storage);
  }

  /**
   * Widens the one tensor of a widening storage through the converter, when it takes the tensor's
   * elements: contiguous, in a buffer this checkpoint allocated, claimed from the cache.
   */
  async #convertElsewhere(
    ref: AnyTensorRef,
    bytes: ReadonlyMap<StorageRef, Uint8Array>,
    taken: ReadonlyMap<StorageRef, TakenBytes>,
  ): Promise<TensorData | undefined> {
    if (this.#converter === undefined || 'kind' in ref || !this.#widens(ref.storage)) return undefined;
    const all = bytes.get(ref.storage);
    if (all === undefined) return undefined;
    const elements = gather(all, ref, dtypeInfo(ref.dtype).itemSize);
    if (elements.buffer !== all.buffer || !this.#owned.has(all.buffer) || !this.#converter.accepts(elements, ref.dtype))
      return undefined;
    if (!taken.get(ref.storage)!.claim()) return undefined;
    return this.#converter.widen(elements, ref.dtype);
  }

  /** The back of a new buffer sized for `storage` widened to its TF.js dtype: where its bytes are read. */
  #widenable(storage: StorageRef): Uint8Array {
    const info = dtypeInfo(storage.dtype);
    const size = (storage.byteLength / info.itemSize) * tfItemSize(info.tf!);
    const buffer = this.#converter?.allocate(size, storage.byteLength, storage.dtype) ?? new ArrayBuffer(size);
    this.#owned.add(buffer);
    return new Uint8Array(buffer, buffer.byteLength - storage.byteLength, storage.byteLength);
  }
}

/** The storages of `ref` that are read (those not placed on `meta`). */
function readable(ref: AnyTensorRef, plan: Placement | undefined): StorageRef[] {
  const all = storagesOf(ref);
  return plan === undefined ? all : all.filter((s) => plan.storages.get(s)?.type !== 'meta');
}

/** Storages that exactly one tensor (a plain strided one) uses and whose dtype widens in conversion. */
function wideningStorages(entries: readonly CheckpointEntry[]): Set<StorageRef> {
  const users = new Map<StorageRef, Set<AnyTensorRef>>();
  for (const { ref } of entries) {
    for (const s of storagesOf(ref)) {
      const set = users.get(s) ?? new Set();
      set.add(ref);
      users.set(s, set);
    }
  }
  const widening = new Set<StorageRef>();
  for (const [s, refs] of users) {
    const info = dtypeInfo(s.dtype);
    const [only] = refs;
    if (refs.size === 1 && !('kind' in only!) && info.tf !== undefined && info.itemSize < tfItemSize(info.tf))
      widening.add(s);
  }
  return widening;
}

/**
 * Turns a browser-side source into a {@link ByteSource}: bytes and Blobs in memory, URLs (absolute,
 * or relative to the page) through HTTP Range requests, with sibling files resolved against the URL.
 */
export async function resolveSource(input: CheckpointSource): Promise<ResolvedSource> {
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return { source: fromBytes(input) };
  if (typeof Blob !== 'undefined' && input instanceof Blob) return { source: fromBlob(input) };
  if (typeof input === 'string' || input instanceof URL) {
    const base = (globalThis as { location?: { href?: string } }).location?.href;
    let url: URL;
    try {
      url = new URL(String(input), base);
    } catch {
      throw new CheckpointError(
        'SOURCE_IO',
        `${quote(String(input))} is not a URL (file paths need the Node entry of @x/checkpoint)`,
      );
    }
    return { source: await fromUrl(url), resolve: (name) => fromUrl(new URL(name, url)) };
  }
  return { source: callerByteSource(input) };
}

/**
 * Opens an already-resolved source: parses the container and lists the tensors. Closes the
 * source when parsing fails. Large widening conversions run on `converter` when given (the Node
 * entry passes its worker threads).
 */
export async function openResolved(
  resolved: ResolvedSource,
  options: LoadOptions = {},
  converter?: WideningConverter,
): Promise<Checkpoint> {
  let container: FormatContainer;
  let ctx: ReadContext;
  try {
    ctx = readContext({ ...options, resolve: resolved.resolve });
    container = await openFormat(resolved.source, ctx);
  } catch (e) {
    await resolved.close?.();
    throw e;
  }
  try {
    return new Checkpoint(container, options, ctx.limits, resolved.close, converter, resolved.io);
  } catch (e) {
    await container.close();
    await resolved.close?.();
    throw e;
  }
}

/**
 * Opens a checkpoint lazily: the format is detected, the structure parsed and validated, but no
 * tensor data is read. Takes bytes, a `Blob`/`File`, a URL or a {@link ByteSource} (file paths in
 * Node through the Node entry).
 *
 * @example
 * ```ts
 * const ckpt = await open(await (await fetch('/model.pt')).blob(), { mapLocation: 'cpu' });
 * for (const e of ckpt.entries) console.log(e.name, e.dtype, e.shape, e.location);
 * const w = await ckpt.tensor(ckpt.names[0]!);
 * await ckpt.close();
 * ```
 * @throws `CheckpointError` `SOURCE_INVALID` (not a source) or `OPTION_INVALID` (an option
 *   of the wrong type or value) before anything is read; `SOURCE_IO` / `INPUT_TRUNCATED` when the
 *   source cannot be read; the format, zip, pickle and limit codes for a malformed, unsafe or
 *   oversized file (README "Errors").
 */
export async function open(source: CheckpointSource, options: LoadOptions = {}): Promise<Checkpoint> {
  checkLoadOptions(options);
  return openResolved(await resolveSource(source), options);
}

/**
 * Binds device types to TF.js backends and places tensors on a chosen backend without switching the global
 * active backend. Relies on tfjs-core 4.22 engine internals:
 * `engine.makeTensor(values, shape, dtype, backend)`, `engine.state.tensorInfo` and `engine.registry`.
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs-core';
import { probeCuda, type CudaLoader, type CudaProbe } from './cuda-adapter.js';
import { Device, device, type DeviceLike } from './device.js';
import { tfItemSize, type TensorValues, type TfDType } from './dtype.js';
import { DeviceError, quote, isDeviceError } from './errors.js';
import { Ledger } from './ledger.js';

type Tf = typeof TF;
type KernelBackend = ReturnType<Tf['findBackend']>;

/** A tensor on the `meta` device: shape and dtype, no data (torch's meta tensors). */
export class MetaTensor {
  /** Tensor shape. */
  readonly shape: number[];
  /** TF.js dtype the data would have. */
  readonly dtype: TfDType;
  /** Always the `meta` device. */
  readonly device: Device;

  constructor(shape: readonly number[], dtype: TfDType, dev: Device) {
    this.shape = [...shape];
    this.dtype = dtype;
    this.device = dev;
    Object.freeze(this);
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

/** A placed tensor: a TF.js tensor, or a {@link MetaTensor}. */
export type Placed = TF.Tensor | MetaTensor;

/** Devices, their backends, and placement. Create with {@link createDeviceRuntime}. */
export interface DeviceRuntime {
  /** Counts what this runtime placed. */
  readonly ledger: Ledger;
  /** The tfjs-core module in use. */
  readonly tf: Tf;
  /** Whether {@link DeviceRuntime.check} would succeed; throws `DEVICE_INVALID` for a malformed device. */
  isAvailable(d: DeviceLike): boolean;
  /** Number of devices of a type (`cpu` and `meta`: 1). */
  deviceCount(type: string): number;
  /** TF.js backend name bound to a device; `undefined` for `meta` and unavailable devices. */
  backendName(d: DeviceLike): string | undefined;
  /** Ledger bytes on the device and its capacity when known (cpu: `os.totalmem()`, wasm: the 4 GiB heap cap). */
  memory(d: DeviceLike): { total: number | undefined; used: number };
  /** The canonical available device (`cuda` -> `cuda:0`, `cpu:0` -> `cpu`), or `DEVICE_UNAVAILABLE` with torch's text. */
  check(d: DeviceLike): Device;
  /** Creates a tensor on the device's backend (the values may be kept by reference on the cpu backend). */
  place(values: TensorValues, shape: readonly number[], dtype: TfDType, d: DeviceLike): Placed;
  /** Copy to another device; the same object and zero bytes when already there (torch's `Tensor.to`). */
  to(t: Placed, d: DeviceLike): Placed;
  /** The device whose backend holds the tensor's data now. */
  deviceOf(t: Placed): Device;
  /** Disposes the tensor and releases it from the ledger. */
  dispose(t: Placed): void;
  /**
   * Initialises the backends of `devices` not initialised yet (see {@link RuntimeOptions.devices}),
   * loading their TF.js module on first use. A backend that fails to initialise makes its device
   * unavailable (`check` then throws `DEVICE_UNAVAILABLE` with the reason); nothing is thrown here.
   */
  prepare(devices: Iterable<DeviceLike>): Promise<void>;
}

/** Options of {@link createDeviceRuntime}. */
export interface RuntimeOptions {
  /** tfjs-core module (default: `import('@tensorflow/tfjs-core')`). */
  tf?: Tf;
  /**
   * Device (`'cuda'`, `'cuda:1'`, `'wasm'`) -> registered TF.js backend name. Overrides the defaults
   * (`cpu`->`cpu`, `wasm`->`wasm`, `webgl`/`webgpu` when registered, `cuda`->`tensorflow` with a GPU); a default
   * whose backend is bound here is dropped, since one backend can hold only one device's tensors.
   */
  bindings?: Record<string, string>;
  /** `'auto'` (default) probes `@tensorflow/tfjs-node-gpu`; `false` never loads it. */
  cuda?: 'auto' | false;
  /** Where the wasm binaries are (default in Node: the `dist/` folder of `@tensorflow/tfjs-backend-wasm`). */
  wasmPaths?: string;
  /** Replaces the import of `@tensorflow/tfjs-node-gpu` (tests). */
  loadCuda?: CudaLoader;
  /**
   * Device types whose backends are initialised now (default `'all'`). Others stay bound but
   * uninitialised (in Node the wasm module is not even imported) until {@link DeviceRuntime.prepare}
   * names them; `place` / `to` on them before that throws `DEVICE_UNAVAILABLE` saying so.
   * `@x/checkpoint` creates its default runtime with `['cpu']` and prepares what a load places.
   */
  devices?: readonly string[] | 'all';
}

/** Device types whose availability errors use torch's `_validate_device` texts. */
const TORCH_VALIDATED = new Set(['cuda', 'hpu', 'xpu', 'mtia']);
/** Largest wasm heap (tfjs-backend-wasm is built with `MAXIMUM_MEMORY=4GB`). */
const WASM_HEAP_LIMIT = 4 * 2 ** 30;

interface Tracked {
  key: string;
  bytes: number;
  epoch: number;
}

/**
 * Loads tfjs-core and its backends (cpu; wasm when installed, with `setWasmPaths` done for Node; tfjs-node-gpu
 * when `cuda: 'auto'`), binds device types to backends and returns the runtime. Leaves the active backend as it was.
 *
 * @example
 * ```ts
 * const rt = await createDeviceRuntime({ bindings: { cuda: 'wasm' } });
 * const t = rt.place(new Float32Array([1, 2]), [2], 'float32', 'cuda');
 * String(rt.deviceOf(t)); // 'cuda:0'
 * const c = rt.to(t, 'cpu');
 * rt.ledger.snapshot().bytesMoved; // 8
 * ```
 */
export async function createDeviceRuntime(options: RuntimeOptions = {}): Promise<DeviceRuntime> {
  const tf = options.tf ?? (await import('@tensorflow/tfjs-core'));
  const found = appState(tf);
  await import('@tensorflow/tfjs-backend-cpu');
  const userBindings = parseBindings(options.bindings ?? {});
  const userBackends = new Set([...userBindings.values()].flat());
  const eager = options.devices ?? 'all';
  const wanted = (type: string): boolean => eager === 'all' || eager.includes(type);
  // the device types the wasm backend will hold; it is imported now only when one is wanted now (or Node cannot tell whether it is installed)
  const wasmTypes = userBackends.has('wasm')
    ? [...userBindings].filter(([, b]) => b.includes('wasm')).map(([t]) => t)
    : userBindings.has('wasm')
      ? []
      : ['wasm'];
  const installed = wasmInstalled();
  const wasm: WasmState =
    wasmTypes.length > 0 && !wasmTypes.some(wanted) && installed !== undefined
      ? {
          loaded: installed,
          reason: installed ? undefined : WASM_MISSING,
          load: installed ? () => loadWasm(tf, options.wasmPaths) : undefined,
        }
      : {
          ...(wasmTypes.length > 0 ? await loadWasm(tf, options.wasmPaths) : { loaded: false, reason: undefined }),
          load: undefined,
        };
  let cuda: CudaProbe | undefined;
  if (options.cuda !== false && !userBindings.has('cuda')) cuda = await probeCuda(tf, options.loadCuda);

  const slots = new Map<string, string[]>();
  const defaults: [string, string, boolean][] = [
    ['cpu', 'cpu', true],
    ['wasm', 'wasm', wasm.loaded],
    ['webgl', 'webgl', tf.engine().backendNames().includes('webgl')],
    ['webgpu', 'webgpu', tf.engine().backendNames().includes('webgpu')],
    ['cuda', cuda?.backendName ?? '', (cuda?.gpuCount ?? 0) > 0],
  ];
  for (const [type, backend, present] of defaults) {
    if (present && !userBindings.has(type) && !userBackends.has(backend)) slots.set(type, [backend]);
  }
  for (const [type, backends] of userBindings) slots.set(type, backends);
  for (const backends of slots.values()) {
    for (const name of backends) {
      if (!(name === 'wasm' && wasm.load !== undefined)) checkRegistered(tf, name);
    }
  }

  const reasons = new Map<string, string>();
  if (wasm.reason !== undefined) reasons.set('wasm', wasm.reason);
  if (cuda?.reason !== undefined) reasons.set('cuda', cuda.reason);
  const runtime = new Runtime(tf, slots, reasons, totalMemory(), wasm.load, found);
  await runtime.prepare([...slots.keys()].filter(wanted));
  return runtime;
}

/** What the application's TF.js looked like before a runtime touched it. */
interface AppState {
  /** The active backend's name, `undefined` when none is active yet. */
  readonly active: string | undefined;
  /** The backend the application's next op would pick when none is active: the highest-priority registered one. */
  readonly best: string | undefined;
}

function appState(tf: Tf): AppState {
  const engine = tf.engine() as unknown as {
    backendName: string | null | undefined;
    registryFactory: Record<string, { priority: number }>;
  };
  const ranked = Object.entries(engine.registryFactory).sort((a, b) => b[1].priority - a[1].priority);
  return { active: engine.backendName ?? undefined, best: ranked[0]?.[0] };
}

/**
 * Undoes what registering backends did to an application that had no active backend yet: its next
 * op would pick the highest-priority backend, and an async one it never initialised (wasm) throws
 * "has not yet been initialized". It gets the backend it would have picked before (cpu when none).
 */
async function restoreAppState(tf: Tf, found: AppState): Promise<void> {
  const now = appState(tf);
  if (found.active !== undefined || now.active !== undefined || now.best === found.best) return;
  await tf.setBackend(found.best ?? 'cpu');
}

const WASM_MISSING = '@tensorflow/tfjs-backend-wasm is not installed';

interface WasmState {
  readonly loaded: boolean;
  readonly reason: string | undefined;
  /** Imports the wasm backend later (Node, installed, not wanted at creation). */
  readonly load: (() => Promise<{ loaded: boolean; reason: string | undefined }>) | undefined;
}

/** In Node: whether tfjs-backend-wasm resolves (without importing it); elsewhere `undefined` (unknown). */
function wasmInstalled(): boolean | undefined {
  if (!hasNodeBuiltins()) return undefined;
  const { createRequire } = process.getBuiltinModule('node:module');
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    return true;
  } catch {
    return false;
  }
}

/** `{ cuda: 'wasm', 'cuda:1': 'cpu2' }` -> `cuda -> ['wasm', 'cpu2']`, rejecting gaps, meta and shared backends. */
function parseBindings(bindings: Record<string, string>): Map<string, string[]> {
  const byType = new Map<string, string[]>();
  const owner = new Map<string, string>();
  for (const [key, backend] of Object.entries(bindings)) {
    const d = device(key);
    if (d.type === 'meta') throw bindingError(`'meta' holds no data and cannot be bound to a backend`);
    if (d.type === 'cpu' && d.index !== undefined)
      throw bindingError(`cpu has one device; bind 'cpu', not ${quote(key, "'")}`);
    const where = `${d.type}:${d.index ?? 0}`;
    const previous = owner.get(backend);
    if (previous !== undefined) {
      throw bindingError(
        `backend ${quote(backend, "'")} is bound to both ${previous} and ${where}; one backend holds one device`,
      );
    }
    owner.set(backend, where);
    const list = byType.get(d.type) ?? [];
    if (list[d.index ?? 0] !== undefined) throw bindingError(`${where} is bound twice`);
    list[d.index ?? 0] = backend;
    byType.set(d.type, list);
  }
  for (const [type, list] of byType) {
    for (let i = 0; i < list.length; i++) {
      if (list[i] === undefined)
        throw bindingError(
          `${type} bindings must cover ${type}:0..${type}:${list.length - 1}; ${type}:${i} is missing`,
        );
    }
  }
  return byType;
}

function bindingError(message: string): DeviceError {
  return new DeviceError('DEVICE_INVALID', `bindings: ${message}`);
}

async function loadWasm(
  tf: Tf,
  wasmPaths: string | undefined,
): Promise<{ loaded: boolean; reason: string | undefined }> {
  let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { loaded: false, reason: `@tensorflow/tfjs-backend-wasm could not be loaded: ${quote(String(e), '')}` };
  }
  if (!('wasm' in tf.engine().registry)) {
    const paths = wasmPaths ?? nodeWasmDist();
    if (paths !== undefined) wasm.setWasmPaths(paths);
  }
  return { loaded: true, reason: undefined };
}

/**
 * Whether Node's built-ins can be had through `process.getBuiltinModule` (Node >= 20.16; engines asks 20.19):
 * it takes no import specifier, so bundlers building for the browser have no `node:` import to resolve or refuse.
 */
function hasNodeBuiltins(): boolean {
  return typeof process !== 'undefined' && typeof process.getBuiltinModule === 'function';
}

/** In Node, the `dist/` folder holding the wasm binaries (next to the package's main file), with a trailing slash. */
function nodeWasmDist(): string | undefined {
  if (!hasNodeBuiltins()) return undefined;
  const { createRequire } = process.getBuiltinModule('node:module');
  const { dirname, sep } = process.getBuiltinModule('node:path');
  return dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')) + sep;
}

function totalMemory(): number | undefined {
  return hasNodeBuiltins() ? process.getBuiltinModule('node:os').totalmem() : undefined;
}

function checkRegistered(tf: Tf, name: string): void {
  const engine = tf.engine();
  if (!engine.backendNames().includes(name)) {
    throw bindingError(
      `no TF.js backend named ${quote(name, "'")} is registered (registered: ${engine.backendNames().join(', ')})`,
    );
  }
}

/** The backend instance, initialising it (async backends too) without making it active; `null` on failure. */
async function initBackend(tf: Tf, name: string): Promise<KernelBackend | null> {
  const engine = tf.engine();
  checkRegistered(tf, name);
  if (!(name in engine.registry)) {
    try {
      // the engine's own initialiser: unlike tf.ready() / tf.setBackend() it leaves the active backend alone
      const init = (
        engine as unknown as { initializeBackend(n: string): { success: boolean | Promise<boolean> } }
      ).initializeBackend(name);
      if (!(await init.success)) return null;
    } catch {
      return null;
    }
  }
  const backend = engine.registry[name] ?? null;
  // tfjs-backend-cpu prints a banner recommending tfjs-node on its first write in Node; the cpu
  // binding is deliberate here (tfjs-node is the optional cuda peer), so the banner is only noise.
  if (backend !== null && (backend as { firstUse?: boolean }).firstUse === true)
    (backend as { firstUse?: boolean }).firstUse = false;
  return backend;
}

class Runtime implements DeviceRuntime {
  readonly ledger = new Ledger();
  readonly tf: Tf;
  readonly #slots: Map<string, string[]>;
  readonly #instances = new Map<string, KernelBackend>();
  readonly #deviceOfBackend = new Map<object, Device>();
  readonly #reasons: Map<string, string>;
  readonly #totalMemory: number | undefined;
  readonly #tracked = new WeakMap<object, Tracked>();
  /** Imports the wasm backend when it was deferred, else `undefined`. */
  #loadWasm: (() => Promise<{ loaded: boolean; reason: string | undefined }>) | undefined;
  readonly #found: AppState;

  constructor(
    tf: Tf,
    slots: Map<string, string[]>,
    reasons: Map<string, string>,
    totalMemory: number | undefined,
    loadWasm: (() => Promise<{ loaded: boolean; reason: string | undefined }>) | undefined,
    found: AppState,
  ) {
    this.tf = tf;
    this.#slots = slots;
    this.#reasons = reasons;
    this.#totalMemory = totalMemory;
    this.#loadWasm = loadWasm;
    this.#found = found;
  }

  async prepare(devices: Iterable<DeviceLike>): Promise<void> {
    for (const d of devices) {
      const dev = device(d);
      const backends = this.#slots.get(dev.type);
      if (backends === undefined || backends.every((name) => this.#instances.has(name))) continue;
      if (backends.includes('wasm') && this.#loadWasm !== undefined) {
        const loaded = await this.#loadWasm();
        this.#loadWasm = undefined;
        if (!loaded.loaded) {
          this.#unbind(dev.type, loaded.reason ?? WASM_MISSING);
          continue;
        }
      }
      for (const [i, name] of backends.entries()) {
        if (this.#instances.has(name)) continue;
        const instance = await initBackend(this.tf, name);
        if (instance === null) {
          this.#unbind(dev.type, `TF.js backend ${quote(name, "'")} failed to initialise`);
          break;
        }
        this.#instances.set(name, instance);
        this.#deviceOfBackend.set(instance as object, dev.type === 'cpu' ? new Device('cpu') : new Device(dev.type, i));
      }
    }
    await restoreAppState(this.tf, this.#found);
  }

  #unbind(type: string, reason: string): void {
    this.#slots.delete(type);
    this.#reasons.set(type, reason);
  }

  isAvailable(d: DeviceLike): boolean {
    try {
      this.check(d);
      return true;
    } catch (e) {
      if (isDeviceError(e) && e.code === 'DEVICE_UNAVAILABLE') return false;
      throw e;
    }
  }

  deviceCount(type: string): number {
    if (type === 'meta') return 1;
    return this.#slots.get(type)?.length ?? 0;
  }

  backendName(d: DeviceLike): string | undefined {
    const dev = device(d);
    if (dev.type === 'meta') return undefined;
    return this.#slots.get(dev.type)?.[dev.type === 'cpu' ? 0 : (dev.index ?? 0)];
  }

  memory(d: DeviceLike): { total: number | undefined; used: number } {
    const dev = this.check(d);
    const backend = this.backendName(dev);
    const total = dev.type === 'cpu' ? this.#totalMemory : backend === 'wasm' ? WASM_HEAP_LIMIT : undefined;
    return { total, used: this.ledger.usage(String(dev)).bytes };
  }

  check(d: DeviceLike): Device {
    const dev = device(d);
    if (dev.type === 'meta') return new Device('meta');
    const count = this.deviceCount(dev.type);
    if (dev.type === 'cpu' && count > 0) return new Device('cpu');
    const index = dev.index ?? 0;
    if (index < count) return dev.index === index ? dev : new Device(dev.type, index);
    throw this.#unavailable(dev, count);
  }

  place(values: TensorValues, shape: readonly number[], dtype: TfDType, d: DeviceLike): Placed {
    const dev = this.check(d);
    const numel = shape.reduce((a, b) => a * b, 1);
    const expected = dtype === 'complex64' ? 2 * numel : numel;
    if (values.length !== expected) {
      throw new DeviceError(
        'SHAPE_MISMATCH',
        `expected ${expected} values for shape [${shape.join(', ')}] (${dtype}), found ${values.length}`,
        { shape: [...shape], dtype, length: values.length },
      );
    }
    if (dev.type === 'meta') return this.#track(new MetaTensor(shape, dtype, dev), dev, 0);
    const name = this.backendName(dev) as string;
    const backend = this.#backend(dev, name);
    const t =
      dtype === 'complex64'
        ? this.#makeComplex(values as Float32Array, shape, name, backend)
        : this.tf.engine().makeTensor(values, [...shape], dtype, backend);
    return this.#track(t, dev, numel * tfItemSize(dtype));
  }

  to(t: Placed, d: DeviceLike): Placed {
    const target = this.check(d);
    const source = this.deviceOf(t);
    if (source.equals(target)) return t;
    if (t instanceof MetaTensor) {
      throw new DeviceError(
        'META_NO_DATA',
        'Cannot copy out of meta tensor; no data! Fix: allocate on the target device (torch: to_empty) or load the data with a mapLocation that is not meta.',
      );
    }
    if (target.type === 'meta') return this.#track(new MetaTensor(t.shape, t.dtype as TfDType, target), target, 0);
    const values = (t.dataSync() as TensorValues).slice();
    const placed = this.place(values, t.shape, t.dtype as TfDType, target);
    this.ledger.move(t.size * tfItemSize(t.dtype as TfDType));
    return placed;
  }

  deviceOf(t: Placed): Device {
    if (t instanceof MetaTensor) return t.device;
    const info = this.tf.engine().state.tensorInfo.get(t.dataId);
    if (info === undefined) throw new DeviceError('DEVICE_INVALID', 'Tensor is disposed.');
    const dev = this.#deviceOfBackend.get(info.backend);
    if (dev !== undefined) return dev;
    const name = Object.entries(this.tf.engine().registry).find(([, b]) => b === info.backend)?.[0] ?? 'unknown';
    throw new DeviceError(
      'BACKEND_UNBOUND',
      `tensor data lives on TF.js backend ${quote(name, "'")}, which no device is bound to (TF.js moves data to the active backend when an op runs there)`,
      { backend: name },
    );
  }

  dispose(t: Placed): void {
    const tracked = this.#tracked.get(t);
    if (!(t instanceof MetaTensor)) t.dispose();
    if (tracked === undefined) return;
    this.#tracked.delete(t);
    if (tracked.epoch === this.ledger.epoch) this.ledger.release(tracked.key, tracked.bytes);
  }

  /** The initialised backend of an available device, or `DEVICE_UNAVAILABLE` naming `prepare`. */
  #backend(dev: Device, name: string): KernelBackend {
    const backend = this.#instances.get(name);
    if (backend !== undefined) return backend;
    throw new DeviceError(
      'DEVICE_UNAVAILABLE',
      `Device '${dev}' is bound to TF.js backend ${quote(name, "'")}, which is not initialised yet. Fix: await runtime.prepare(['${dev}']) first, or create the runtime with devices: 'all'.`,
      { device: String(dev), backend: name },
    );
  }

  #track<T extends Placed>(t: T, dev: Device, bytes: number): T {
    const key = String(dev);
    this.ledger.place(key, bytes);
    this.#tracked.set(t, { key, bytes, epoch: this.ledger.epoch });
    return t;
  }

  #makeComplex(values: Float32Array, shape: readonly number[], name: string, backend: KernelBackend): TF.Tensor {
    const kernel = this.tf.getKernel('Complex', name);
    if (kernel === undefined) {
      throw new DeviceError(
        'DTYPE_UNSUPPORTED',
        `TF.js backend ${quote(name, "'")} has no complex64 support (no Complex kernel)`,
        { backend: name },
      );
    }
    const n = values.length / 2;
    const re = new Float32Array(n);
    const im = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      re[i] = values[2 * i] as number;
      im[i] = values[2 * i + 1] as number;
    }
    const engine = this.tf.engine();
    const real = engine.makeTensor(re, [...shape], 'float32', backend);
    const imag = engine.makeTensor(im, [...shape], 'float32', backend);
    try {
      const info = kernel.kernelFunc({ inputs: { real, imag }, backend, attrs: {} }) as TF.TensorInfo;
      return engine.makeTensorFromTensorInfo(info, backend);
    } finally {
      real.dispose();
      imag.dispose();
    }
  }

  #unavailable(dev: Device, count: number): DeviceError {
    const t = dev.type;
    const reason = this.#reasons.get(t);
    const details = { device: String(dev), deviceCount: count, ...(reason === undefined ? {} : { reason }) };
    const fix = ` Fix: load with mapLocation: 'cpu', or mapLocation: { '${dev}': 'cpu' } to remap this location only.`;
    if (TORCH_VALIDATED.has(t)) {
      const B = t.toUpperCase();
      const text =
        count === 0
          ? `Attempting to deserialize object on a ${B} device but torch.${t}.is_available() is False. If you are running on a CPU-only machine, please use torch.load with map_location=torch.device('cpu') to map your storages to the CPU.`
          : `Attempting to deserialize object on ${B} device ${dev.index ?? 0} but torch.${t}.device_count() is ${count}. Please use torch.load with map_location to map your storages to an existing device.`;
      return new DeviceError('DEVICE_UNAVAILABLE', text + fix, details);
    }
    const bound = [...this.#slots.keys()].join(', ');
    const why = count === 0 ? `no TF.js backend is bound to ${t}` : `${t} has ${count} device(s)`;
    return new DeviceError(
      'DEVICE_UNAVAILABLE',
      `Device '${dev}' is not available: ${why} (bound: ${bound}, meta).${fix} Or bind a backend: createDeviceRuntime({ bindings: { '${dev}': '<backend>' } }).`,
      details,
    );
  }
}

/**
 * Widening conversions on worker threads (Node only). A storage that one tensor uses and whose dtype
 * widens (float16, bfloat16, int8, …) is read into the back of a `SharedArrayBuffer` sized for the
 * converted tensor; a worker runs the same `toTensorData(…, { overwrite: true })` on it as the main
 * thread would, in place, while the main thread goes on reading the next storages. With `load`
 * materialising every tensor being read, the conversions of several tensors run on all cores.
 *
 * The converted tensors' data then lies in shared memory: TF.js takes it like any Float32Array, but
 * APIs that refuse shared memory (WebCrypto's `digest`, transfer lists) need a copy of it.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { dtypeInfo, tfItemSize, toTensorData, type TensorData, type TorchDType } from '@x/device';
import type { WideningConverter } from './materialise.js';

/** Options of {@link WorkerConverter}. */
export interface WorkerConverterOptions {
  /** Worker threads (default: `min(2, os.availableParallelism())`); 0 converts nothing elsewhere. */
  readonly threads?: number;
  /** Smallest storage (bytes in the file) converted on a worker (default 1 MiB); smaller ones convert where they are materialised. */
  readonly minBytes?: number;
  /** The worker script (default: `convert-worker.js` next to this module; bundlers may relocate it). */
  readonly workerUrl?: URL;
}

/** A conversion sent to a worker: `buffer` is shared, not copied. */
export interface WidenRequest {
  readonly id: number;
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly dtype: TorchDType;
}

/** What a worker sends back: its readiness once loaded, then one reply per request. */
export type WidenReply =
  | { readonly ready: true }
  | { readonly id: number; readonly data: TensorData }
  | { readonly id: number; readonly error: unknown };

/** Default {@link WorkerConverterOptions.minBytes}: below this, a round trip to a worker costs more than it saves. */
const MIN_BYTES = 2 ** 20;

/** A conversion waiting for an idle worker. */
interface Job {
  readonly request: WidenRequest;
  readonly elements: Uint8Array;
  readonly done: (result: Promise<TensorData>) => void;
}

/**
 * Runs large widening conversions on a small pool of worker threads, started by the first
 * {@link WorkerConverter.allocate} that it takes (so they boot while that storage is read) and
 * `unref`'d while idle (they never keep a process alive). Conversions are bit-identical to the main
 * thread's: the workers run the same `toTensorData`. Until the workers are up, and when none starts
 * (the worker script is missing, e.g. under a bundler that did not copy it), conversions run on the
 * calling thread.
 *
 * @example
 * ```ts
 * const converter = new WorkerConverter({ threads: 2 });
 * const ckpt = await openResolved(await resolveNodeSource('model-f16.pt'), { mapLocation: 'cpu' }, converter);
 * const { value } = await loadCheckpoint(ckpt); // float16 tensors widened on two worker threads
 * await converter.terminate();
 * ```
 */
export class WorkerConverter implements WideningConverter {
  readonly threads: number;
  readonly minBytes: number;
  readonly #url: URL;
  readonly #allocated = new WeakSet<ArrayBufferLike>();
  readonly #queue: Job[] = [];
  #pool: Promise<PoolWorker[]> | undefined;
  /** The pool once it is up. */
  #workers: PoolWorker[] | undefined;
  #nextId = 0;

  constructor(options: WorkerConverterOptions = {}) {
    this.threads = options.threads ?? Math.min(2, availableParallelism());
    this.minBytes = options.minBytes ?? MIN_BYTES;
    this.#url = options.workerUrl ?? new URL('./convert-worker.js', import.meta.url);
  }

  /**
   * A `SharedArrayBuffer` of `byteLength` bytes for a storage of `storageBytes` bytes of `dtype`
   * when it widens and is at least `minBytes` (and starts the workers), else `undefined`.
   */
  allocate(byteLength: number, storageBytes: number, dtype: TorchDType): SharedArrayBuffer | undefined {
    if (this.threads <= 0 || storageBytes < this.minBytes || !widens(dtype)) return undefined;
    const buffer = new SharedArrayBuffer(byteLength);
    this.#allocated.add(buffer);
    void this.#start();
    return buffer;
  }

  /**
   * Whether {@link WorkerConverter.widen} takes these elements: a widening dtype, at least `minBytes`,
   * in a buffer from {@link WorkerConverter.allocate}.
   */
  accepts(elements: Uint8Array, dtype: TorchDType): boolean {
    return this.#allocated.has(elements.buffer) && elements.byteLength >= this.minBytes && widens(dtype);
  }

  /**
   * `toTensorData(elements, dtype, 'convert', { overwrite: true })` on the next idle worker (in call
   * order), in place in `elements`' shared buffer; on this thread while no worker runs.
   *
   * @example
   * ```ts
   * const buffer = converter.allocate(2 ** 22, 2 ** 21, 'float16')!;
   * const half = new Uint8Array(buffer, 2 ** 21); // read float16 elements here
   * const { values } = await converter.widen(half, 'float16'); // Float32Array over all of `buffer`
   * ```
   */
  async widen(elements: Uint8Array, dtype: TorchDType): Promise<TensorData> {
    const workers = this.#workers;
    if (workers === undefined) {
      void this.#start();
      return toTensorData(elements, dtype, 'convert', { overwrite: true });
    }
    const request: WidenRequest = {
      id: this.#nextId++,
      buffer: elements.buffer,
      byteOffset: elements.byteOffset,
      byteLength: elements.byteLength,
      dtype,
    };
    const result = new Promise<Promise<TensorData>>((done) => this.#queue.push({ request, elements, done }));
    this.#dispatch(workers);
    return result;
  }

  /**
   * Starts the workers unless they run, and resolves with how many are up (0: conversions run on
   * the calling thread). Conversions do not wait for it; call it to have the workers ready first.
   */
  async start(): Promise<number> {
    return (await this.#start()).filter((w) => w.alive).length;
  }

  /** Stops the workers (conversions in flight fail); the next conversion starts new ones. */
  async terminate(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    this.#workers = undefined;
    if (pool !== undefined) await Promise.all((await pool).map((w) => w.terminate()));
  }

  /** Hands queued conversions to idle workers; converts them here when no worker is left. */
  #dispatch(workers: readonly PoolWorker[]): void {
    const alive = workers.filter((w) => w.alive);
    for (const worker of alive) {
      if (worker.busy) continue;
      const job = this.#queue.shift();
      if (job === undefined) return;
      const result = worker.run(job.request);
      job.done(result);
      const next = (): void => this.#dispatch(workers);
      result.then(next, next);
    }
    if (alive.length > 0) return;
    for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
      const { elements, request } = job;
      job.done(Promise.resolve().then(() => toTensorData(elements, request.dtype, 'convert', { overwrite: true })));
    }
  }

  /** The workers that came up (started on first call). */
  #start(): Promise<PoolWorker[]> {
    if (this.#pool !== undefined) return this.#pool;
    const pool = (async () => {
      // Imported when the first conversion needs the pool: opening a checkpoint does not load it.
      const { Worker } = await import('node:worker_threads');
      const all = Array.from({ length: this.threads }, () => new PoolWorker(new Worker(this.#url)));
      const up = await Promise.all(all.map((w) => w.ready));
      return all.filter((_, i) => up[i]);
    })();
    this.#pool = pool;
    void pool.then((workers) => {
      if (this.#pool === pool) this.#workers = workers;
    });
    return pool;
  }
}

/** Whether `dtype` grows when converted to its TF.js dtype. */
function widens(dtype: TorchDType): boolean {
  const info = dtypeInfo(dtype);
  return info.tf !== undefined && info.itemSize < tfItemSize(info.tf);
}

/** One worker thread and its conversion in flight. */
class PoolWorker {
  /** Resolves `true` once the worker script loaded, `false` when it failed first. */
  readonly ready: Promise<boolean>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (d: TensorData) => void; reject: (e: unknown) => void }>();
  #failure: unknown;

  /** @param worker - Just created: referenced while starting and while busy, so an awaited conversion keeps the process alive. */
  constructor(worker: Worker) {
    this.#worker = worker;
    this.ready = new Promise((resolve) => {
      this.#worker.on('message', (m: WidenReply) => {
        if ('ready' in m) {
          if (this.#pending.size === 0) this.#worker.unref();
          resolve(true);
          return;
        }
        const job = this.#pending.get(m.id)!;
        this.#pending.delete(m.id);
        if (this.#pending.size === 0) this.#worker.unref();
        if ('data' in m) job.resolve(m.data);
        else job.reject(m.error);
      });
      this.#worker.on('error', (e) => {
        this.#fail(e);
        resolve(false);
      });
      this.#worker.on('exit', (code) => {
        this.#fail(new Error(`conversion worker exited with code ${code}`));
        resolve(false);
      });
    });
  }

  get alive(): boolean {
    return this.#failure === undefined;
  }

  get busy(): boolean {
    return this.#pending.size > 0;
  }

  run(request: WidenRequest): Promise<TensorData> {
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(request);
    });
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  /** Marks the worker dead and fails what it had in flight (its buffer may be half converted). */
  #fail(e: unknown): void {
    this.#failure ??= e;
    for (const job of this.#pending.values()) job.reject(this.#failure);
    this.#pending.clear();
  }
}

/**
 * Widening conversions on worker threads (Node only). A storage that one tensor uses and whose dtype
 * widens (float16, bfloat16, int8, …) is read into the back of a buffer sized for the converted tensor;
 * {@link WorkerConverter} moves that buffer to a worker (a transfer: no copy), which runs the same
 * `toTensorData(…, { overwrite: true })` as the main thread would, in place, and moves it back. The main
 * thread meanwhile reads the next storages, and with `load` keeping several tensors in flight the
 * conversions run on all cores. Results are plain `ArrayBuffer`s, as without workers.
 *
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { dtypeInfo, tfItemSize, toTensorData, type TensorData, type TorchDType } from '@x/device';
import type { WideningConverter } from './open.js';

/** Options of {@link WorkerConverter}. */
export interface WorkerConverterOptions {
  /** Worker threads (default: `min(2, os.availableParallelism())`); 0 converts on the calling thread. */
  readonly threads?: number;
  /** Smallest element byte length sent to a worker (default 1 MiB); smaller ones convert where they are materialised. */
  readonly minBytes?: number;
  /** The worker script (default: `convert-worker.js` next to this module; bundlers may relocate it). */
  readonly workerUrl?: URL;
}

/** A conversion sent to a worker: `buffer` is transferred. */
export interface WidenRequest {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly byteOffset: number;
  readonly byteLength: number;
  readonly dtype: TorchDType;
}

/** What a worker sends back: its readiness once loaded, then one reply per request (`data`'s buffer transferred). */
export type WidenReply = { readonly ready: true } | { readonly id: number; readonly data: TensorData } | { readonly id: number; readonly error: unknown };

/** Default {@link WorkerConverterOptions.minBytes}: below this, a round trip to a worker costs more than it saves. */
const MIN_BYTES = 2 ** 20;

/**
 * Runs large widening conversions on a small pool of worker threads, started on first use and
 * `unref`'d while idle (they never keep a process alive). Conversions are bit-identical to the main
 * thread's: the workers run the same `toTensorData`. When no worker starts (the worker script is
 * missing, e.g. under a bundler that did not copy it), conversions run on the calling thread.
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
  #pool: Promise<PoolWorker[]> | undefined;
  #nextId = 0;

  /**
   * @param options - Threads, size threshold and worker script.
   */
  constructor(options: WorkerConverterOptions = {}) {
    this.threads = options.threads ?? Math.min(2, availableParallelism());
    this.minBytes = options.minBytes ?? MIN_BYTES;
    this.#url = options.workerUrl ?? new URL('./convert-worker.js', import.meta.url);
  }

  /**
   * Whether {@link WorkerConverter.widen} takes these elements: a widening dtype, at least `minBytes`,
   * in a transferable `ArrayBuffer`.
   *
   * @example
   * ```ts
   * new WorkerConverter().accepts(new Uint8Array(2 ** 21), 'float16'); // true
   * new WorkerConverter().accepts(new Uint8Array(2 ** 21), 'float32'); // false: nothing to widen
   * ```
   */
  accepts(elements: Uint8Array, dtype: TorchDType): boolean {
    const info = dtypeInfo(dtype);
    return (
      this.threads > 0 &&
      elements.byteLength >= this.minBytes &&
      info.tf !== undefined &&
      info.itemSize < tfItemSize(info.tf) &&
      elements.buffer instanceof ArrayBuffer
    );
  }

  /**
   * `toTensorData(elements, dtype, 'convert', { overwrite: true })` on the least busy worker:
   * `elements`' buffer is transferred there (detached here) and the result comes back in it.
   *
   * @example
   * ```ts
   * const buffer = new ArrayBuffer(8);
   * new Uint16Array(buffer, 4, 2).set([0x3c00, 0xc000]); // float16 1, -2 at the back
   * const { values } = await converter.widen(new Uint8Array(buffer, 4, 4), 'float16'); // Float32Array [1, -2]
   * ```
   */
  async widen(elements: Uint8Array, dtype: TorchDType): Promise<TensorData> {
    const workers = (await this.#start()).filter((w) => w.alive);
    const worker = workers.reduce<PoolWorker | undefined>((best, w) => (best === undefined || w.busy < best.busy ? w : best), undefined);
    if (worker === undefined) return toTensorData(elements, dtype, 'convert', { overwrite: true });
    return worker.run({ id: this.#nextId++, buffer: elements.buffer as ArrayBuffer, byteOffset: elements.byteOffset, byteLength: elements.byteLength, dtype });
  }

  /**
   * Stops the workers (conversions in flight fail); the next {@link WorkerConverter.widen} starts new ones.
   *
   * @example
   * ```ts
   * await converter.terminate();
   * ```
   */
  async terminate(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool !== undefined) await Promise.all((await pool).map((w) => w.terminate()));
  }

  /** The workers that came up (started on first call). */
  #start(): Promise<PoolWorker[]> {
    this.#pool ??= (async () => {
      const all = Array.from({ length: this.threads }, () => new PoolWorker(this.#url));
      const up = await Promise.all(all.map((w) => w.ready));
      return all.filter((_, i) => up[i]);
    })();
    return this.#pool;
  }
}

/** One worker thread and its conversions in flight. */
class PoolWorker {
  /** Resolves `true` once the worker script loaded, `false` when it failed first. */
  readonly ready: Promise<boolean>;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (d: TensorData) => void; reject: (e: unknown) => void }>();
  #failure: unknown;

  constructor(url: URL) {
    // referenced while starting and while busy, so an awaited conversion keeps the process alive
    this.#worker = new Worker(url);
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

  /** Whether the worker still runs. */
  get alive(): boolean {
    return this.#failure === undefined;
  }

  /** Conversions in flight. */
  get busy(): number {
    return this.#pending.size;
  }

  run(request: WidenRequest): Promise<TensorData> {
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(request, [request.buffer]);
    });
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }

  /** Marks the worker dead and fails what it had in flight (their buffers went with it). */
  #fail(e: unknown): void {
    this.#failure ??= e;
    for (const job of this.#pending.values()) job.reject(this.#failure);
    this.#pending.clear();
  }
}

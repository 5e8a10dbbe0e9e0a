/**
 * Running a placed model: accelerate's `AlignDevicesHook` idea (move inputs to each submodule's
 * device, send outputs back to the caller's device) over TF.js backends, and torch's
 * "Expected all tensors to be on the same device" check.
 *
 * @module
 */

import { quote, type DeviceLike, type DeviceRuntime, type Placed } from '@x/device';
import { MigrateError } from '../errors.js';
import type { Module } from './module.js';
import { isPlaced } from './placed.js';

/** Options of {@link callOn}. */
export interface CallOnOptions {
  /**
   * `true`: move nothing — every input must already be on the module's device, else torch's
   * "Expected all tensors to be on the same device" error, as plain torch (no hooks) behaves.
   * Default `false`: inputs are moved to the module's device and results back.
   */
  strict?: boolean;
  /** Where results go; default the device of the first input tensor (accelerate's `io_same_device`). */
  returnTo?: DeviceLike;
}

/**
 * Throws torch's error when the tensors are not all on one device; returns that device (or
 * `undefined` for no tensors). The two devices named are the first one met and the first
 * different one, as torch names them.
 *
 * @throws MigrateError `DEVICE_MISMATCH`: "Expected all tensors to be on the same device, but
 *   found at least two devices, cpu and cuda:0!".
 */
export function assertSameDevice(tensors: Iterable<Placed>, runtime: DeviceRuntime): string | undefined {
  let first: string | undefined;
  for (const tensor of tensors) {
    const d = runtime.deviceOf(tensor).toString();
    if (first === undefined) first = d;
    else if (d !== first) {
      throw new MigrateError(
        'DEVICE_MISMATCH',
        `Expected all tensors to be on the same device, but found at least two devices, ${quote(first, '')} and ${quote(d, '')}!`,
        { devices: [first, d] },
      );
    }
  }
  return first;
}

/**
 * Calls `fn(inputs, module)` on the module's device: input tensors (also inside arrays, `Map`s
 * and plain objects) are moved there, the TF.js backend bound to that device is made active for
 * the call so kernels run there, and tensors in the result are moved back to the caller's device.
 * Temporary copies made for the call are disposed; the caller's inputs and the module's tensors
 * never are. Not re-entrant across concurrent calls: the active backend is process-wide.
 *
 * @throws MigrateError `DEVICE_MISMATCH` (module spread over devices, or `strict` and an input
 *   elsewhere), `DEVICE_NOT_RUNNABLE` (no backend for the device, e.g. `meta`).
 */
export async function callOn<I, R>(
  module: Module,
  inputs: I,
  fn: (inputs: I, module: Module) => R | Promise<R>,
  runtime: DeviceRuntime,
  options: CallOnOptions = {},
): Promise<R> {
  const own = module.namedTensors().map(({ tensor }) => tensor);
  const given = collect(inputs, runtime);
  const target = options.strict
    ? assertSameDevice([...own, ...given], runtime)
    : (assertSameDevice(own, runtime) ?? firstDevice(given, runtime));
  if (target === undefined) return fn(inputs, module);
  const backend = runtime.backendName(target);
  if (backend === undefined) {
    throw new MigrateError(
      'DEVICE_NOT_RUNNABLE',
      `cannot run a module on ${quote(target, '')}: no TF.js backend is bound to it`,
      { device: target },
    );
  }
  const returnTo = options.strict
    ? undefined
    : options.returnTo === undefined
      ? firstDevice(given, runtime)
      : runtime.check(options.returnTo);
  const keep = new Set<Placed>([...own, ...given]);
  const temporaries: Placed[] = [];
  const moved = options.strict
    ? inputs
    : mapPlaced(inputs, runtime, (t) => {
        const m = runtime.to(t, target);
        if (m !== t) temporaries.push(m);
        return m;
      });
  const result = await withBackend(runtime, backend, () => fn(moved, module));
  const disposed = new Set<Placed>();
  const output =
    returnTo === undefined
      ? result
      : mapPlaced(result, runtime, (t) => {
          const m = runtime.to(t, returnTo);
          if (m !== t && !keep.has(t)) {
            runtime.dispose(t);
            disposed.add(t);
          }
          return m;
        });
  const returned = new Set(collect(output, runtime));
  for (const t of temporaries) if (!returned.has(t) && !disposed.has(t)) runtime.dispose(t);
  return output;
}

/** Runs `fn` with `backend` active, then re-activates the previous one (if any was active). */
async function withBackend<R>(runtime: DeviceRuntime, backend: string, fn: () => R | Promise<R>): Promise<R> {
  // tfjs-core types getBackend() as string, but it is undefined before any backend was activated.
  const previous = runtime.tf.getBackend() as string | undefined;
  if (!(await runtime.tf.setBackend(backend))) {
    throw new MigrateError('DEVICE_NOT_RUNNABLE', `TF.js backend ${quote(backend, '')} could not be activated`, {
      backend,
    });
  }
  try {
    return await fn();
  } finally {
    if (previous !== undefined) await runtime.tf.setBackend(previous);
  }
}

function firstDevice(tensors: readonly Placed[], runtime: DeviceRuntime): string | undefined {
  const first = tensors[0];
  return first === undefined ? undefined : runtime.deviceOf(first).toString();
}

function collect(value: unknown, runtime: DeviceRuntime): Placed[] {
  const out: Placed[] = [];
  mapPlaced(value, runtime, (t) => {
    out.push(t);
    return t;
  });
  return out;
}

/**
 * Rebuilds arrays, `Map`s and plain objects with `fn` applied to every tensor inside, once per
 * tensor object (a tensor listed twice maps to one result).
 */
function mapPlaced<T>(value: T, runtime: DeviceRuntime, fn: (t: Placed) => Placed): T {
  const done = new Map<Placed, Placed>();
  const walk = (v: unknown): unknown => {
    if (isPlaced(v, runtime)) {
      const known = done.get(v);
      if (known !== undefined) return known;
      const mapped = fn(v);
      done.set(v, mapped);
      return mapped;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, walk(x)]));
    if (v !== null && typeof v === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

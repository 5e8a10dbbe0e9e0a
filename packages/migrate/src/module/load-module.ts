/**
 * Loading a checkpoint into a {@link Module}: `@x/checkpoint`'s `load`, then the tensors by name.
 *
 * @module
 */

import { open, type Checkpoint, type CheckpointSource, type LoadOptions, type LoadReport } from '@x/checkpoint';
import { loadCheckpoint } from '@x/checkpoint/internal';
import { quote, type DeviceRuntime, type MapLocation, type Placed } from '@x/device';
import { MigrateError } from '../errors.js';
import { Module, type FromStateDictOptions } from './module.js';
import { isPlaced } from './placed.js';

/** Options of {@link loadModule}. */
export interface LoadModuleOptions extends FromStateDictOptions, Pick<LoadOptions, 'dtype' | 'limits' | 'verify'> {
  /** Devices and backends; required so the ledger that measures the load is the caller's. */
  runtime: DeviceRuntime;
  /** torch's `map_location` (default: every storage where it was saved). */
  mapLocation?: MapLocation;
}

/** A loaded module and what the load did. */
export interface ModuleLoad {
  /** The tree built from the checkpoint's tensor names (`features.0.weight` …). */
  module: Module;
  /** `@x/checkpoint`'s load report: every tensor's device, conversions, ledger, bytes read. */
  report: LoadReport;
}

/**
 * `torch.load(f, map_location=…)` then `Module.fromStateDict`: every tensor of the checkpoint under
 * its dotted name (a state dict's keys; nested dicts add their key as a prefix). Tensors stored
 * once under two names stay one object (tied). Without `mapLocation`, a checkpoint saved on a
 * device the runtime lacks fails with `DEVICE_UNAVAILABLE` and torch's text, before anything is read.
 *
 * @throws DeviceError `DEVICE_UNAVAILABLE`; CheckpointError for unreadable files; MigrateError
 *   `LOAD_STATE_DICT` for tensors a module cannot hold (sparse, `dtype: 'raw'`).
 */
export async function loadModule(source: CheckpointSource, options: LoadModuleOptions): Promise<ModuleLoad> {
  const { runtime, mapLocation, dtype, limits, verify } = options;
  const ckpt = await open(source, {
    runtime,
    dtype,
    limits,
    verify,
    ...(mapLocation === undefined ? {} : { mapLocation }),
  });
  return moduleFromCheckpoint(ckpt, options);
}

/**
 * Materialises every tensor of an opened checkpoint (closing it) and builds the module.
 *
 * @throws as {@link loadModule}.
 */
export async function moduleFromCheckpoint(ckpt: Checkpoint, options: LoadModuleOptions): Promise<ModuleLoad> {
  const { value, report } = await loadCheckpoint(ckpt);
  const found = report.tensors.map(({ name, path }) => [name, valueAt(value, path)] as const);
  const bad = found.find(([, tensor]) => !isPlaced(tensor, options.runtime));
  if (bad !== undefined) {
    for (const tensor of new Set(found.map(([, t]) => t)))
      if (isPlaced(tensor, options.runtime)) options.runtime.dispose(tensor);
    const why =
      bad[1] === undefined
        ? 'is not reachable through dicts and lists (a module is built from state-dict-like checkpoints)'
        : "is not a dense tensor a module can hold (sparse tensors and dtype: 'raw' are not)";
    throw new MigrateError('LOAD_STATE_DICT', `${quote(bad[0])} ${why}`, { name: bad[0] });
  }
  const stateDict = new Map(found as (readonly [string, Placed])[]);
  const { buffers, className } = options;
  const module = Module.fromStateDict(stateDict, {
    ...(buffers === undefined ? {} : { buffers }),
    ...(className === undefined ? {} : { className }),
  });
  return { module, report };
}

/** The value at a path of dict keys and list indices. */
function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const key of path) {
    if (node instanceof Map) node = node.get(key);
    else if (Array.isArray(node) && typeof key === 'number') node = node[key];
    else return undefined;
  }
  return node;
}

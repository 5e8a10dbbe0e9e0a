/**
 * The cost of getting a checkpoint onto a device, measured three ways on one runtime's ledger:
 * `mapLocation` straight to the target, loading to the saved devices then `module.to(target)`,
 * and a per-submodule device map.
 *
 * @module
 */

import type { CheckpointSource } from '@x/checkpoint';
import type { DeviceLike, DeviceRuntime } from '@x/device';
import type { DeviceMap } from './device-map/device-map.js';
import { loadModule, type ModuleLoad } from './module/load-module.js';
import { loadWithDeviceMap } from './device-map/load.js';

/**
 * The three strategies: torch's `map_location`, `torch.load` then `model.to(device)`, and an
 * accelerate-style device map.
 */
export type StrategyName = 'map-location' | 'load-then-to' | 'device-map';

/** What one strategy cost, from the runtime's ledger (reset before each strategy). */
export type StrategyLedger = {
  /** Which strategy. */
  strategy: StrategyName;
  /** How the strategy reads as code, e.g. `load(f, { mapLocation: 'cpu' })`. */
  label: string;
  /** Storage bytes read from the file (0 for a failed strategy: devices are checked before reading). */
  bytesRead: number;
  /** Bytes copied from one device to another. */
  bytesMoved: number;
  /** Number of device-to-device copies. */
  copies: number;
  /** Highest bytes held at once on each device touched. */
  peak: Record<string, number>;
  /** Bytes on each device at the end (the placed model). */
  final: Record<string, number>;
  /** Milliseconds from the start of the load to the placed model. */
  wallMs: number;
} & ({ ok: true } | { ok: false; error: { code: string; message: string } });

/** Options of {@link compareStrategies}. */
export interface CompareOptions {
  /** Devices, backends and the ledger measured. */
  runtime: DeviceRuntime;
  /** Adds the device-map strategy. */
  deviceMap?: DeviceMap;
}

/**
 * Runs each strategy on `source` in turn, with the runtime's ledger reset before each and every
 * tensor disposed after it, and returns their ledgers in order: `map-location`
 * (`load(f, { mapLocation: target })`: each byte placed once, on the target), `load-then-to`
 * (`load(f)` to the saved locations, then `module.to(target)`: each byte placed on the saved device,
 * then copied), and `device-map` when a map is given (`loadWithDeviceMap`). A strategy that fails
 * is reported with its error instead of numbers — on a machine without the saved device,
 * `load-then-to` fails with `DEVICE_UNAVAILABLE` and torch's message, which is the point.
 */
export async function compareStrategies(
  source: CheckpointSource,
  target: DeviceLike,
  options: CompareOptions,
): Promise<StrategyLedger[]> {
  const { runtime, deviceMap } = options;
  const to = String(target);
  const results = [
    await measure('map-location', `load(f, { mapLocation: '${to}' })`, runtime, () =>
      loadModule(source, { runtime, mapLocation: target }),
    ),
    await measure('load-then-to', `load(f).to('${to}')`, runtime, async () => {
      const loaded = await loadModule(source, { runtime });
      try {
        loaded.module.to(target, runtime);
      } catch (e) {
        disposeModule(loaded, runtime);
        throw e;
      }
      return loaded;
    }),
  ];
  if (deviceMap !== undefined) {
    const label = `loadWithDeviceMap(f, ${JSON.stringify(deviceMap)})`;
    results.push(await measure('device-map', label, runtime, () => loadWithDeviceMap(source, deviceMap, { runtime })));
  }
  return results;
}

async function measure(
  strategy: StrategyName,
  label: string,
  runtime: DeviceRuntime,
  run: () => Promise<ModuleLoad>,
): Promise<StrategyLedger> {
  runtime.ledger.reset();
  const start = performance.now();
  let loaded: ModuleLoad;
  try {
    loaded = await run();
  } catch (e) {
    const wallMs = performance.now() - start;
    const { copies, bytesMoved, devices } = runtime.ledger.snapshot();
    const error = {
      code: String((e as { code?: unknown }).code ?? 'ERROR'),
      message: e instanceof Error ? e.message : String(e),
    };
    return { strategy, label, ok: false, error, bytesRead: 0, bytesMoved, copies, ...usage(devices), wallMs };
  }
  const wallMs = performance.now() - start;
  const { copies, bytesMoved, devices } = runtime.ledger.snapshot();
  disposeModule(loaded, runtime);
  return {
    strategy,
    label,
    ok: true,
    bytesRead: loaded.report.bytesRead,
    bytesMoved,
    copies,
    ...usage(devices),
    wallMs,
  };
}

function disposeModule(loaded: ModuleLoad, runtime: DeviceRuntime): void {
  for (const { tensor } of loaded.module.namedTensors()) runtime.dispose(tensor);
}

function usage(devices: Record<string, { bytes: number; peak: number }>): {
  peak: Record<string, number>;
  final: Record<string, number>;
} {
  const entries = Object.entries(devices).filter(([, u]) => u.peak > 0);
  return {
    peak: Object.fromEntries(entries.map(([d, u]) => [d, u.peak])),
    final: Object.fromEntries(entries.map(([d, u]) => [d, u.bytes])),
  };
}

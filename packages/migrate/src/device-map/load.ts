/**
 * Loading a checkpoint straight onto a per-submodule device map: each storage is read once and
 * placed on its module's device, with no stop on the saved device and no copy afterwards.
 *
 * @module
 */

import { open, type Checkpoint, type CheckpointSource } from '@x/checkpoint';
import { quote, type MapLocation, type StorageInfo } from '@x/device';
import { resolveDeviceMap, type DeviceMap } from './device-map.js';
import { MigrateError } from '../errors.js';
import { moduleFromCheckpoint, type LoadModuleOptions, type ModuleLoad } from '../module/load-module.js';

/**
 * Options of {@link loadWithDeviceMap}: those of `loadModule` without `mapLocation` (the device
 * map replaces it).
 */
export type LoadWithDeviceMapOptions = Omit<LoadModuleOptions, 'mapLocation'>;

/** Result of {@link loadWithDeviceMap}. */
export interface DeviceMapLoad extends ModuleLoad {
  /** Tensor name -> device string, from the device map. */
  placement: Map<string, string>;
  /** Storage key -> device string it was placed on. */
  storages: Map<string, string>;
  /** Map keys that name no tensor and no module holding one (accelerate warns about these). */
  unusedKeys: string[];
}

/**
 * Loads a checkpoint with every storage placed straight from the file onto the device its tensors'
 * module is mapped to (longest dotted prefix wins, `''` covers the rest — accelerate's rule). The
 * map is turned into a `mapLocation` function over storage keys, so nothing lands on the saved
 * device first and nothing is copied afterwards: the ledger shows each byte placed once and zero
 * bytes moved. All views of one storage must map to one device (a storage is one allocation);
 * devices are checked before any tensor data is read.
 *
 * @throws MigrateError `DEVICE_MAP_UNCOVERED` (accelerate's message), `STORAGE_SPLIT` naming two
 *   tensors of one storage mapped to different devices, `DEVICE_MAP_INVALID`; DeviceError
 *   `DEVICE_UNAVAILABLE` for a device without a backend.
 */
export async function loadWithDeviceMap(
  source: CheckpointSource,
  deviceMap: DeviceMap,
  options: LoadWithDeviceMapOptions,
): Promise<DeviceMapLoad> {
  const { runtime, dtype, limits, verify } = options;
  const storages = new Map<string, string>();
  const mapLocation: MapLocation = (storage: StorageInfo) => storages.get(storage.key);
  const ckpt = await open(source, { runtime, dtype, limits, verify, mapLocation });
  let resolved: ReturnType<typeof resolveDeviceMap>;
  try {
    resolved = resolveDeviceMap(deviceMap, ckpt.names);
    assignStorages(ckpt, resolved.placement, storages, options);
  } catch (e) {
    await ckpt.close();
    throw e;
  }
  const loaded = await moduleFromCheckpoint(ckpt, options);
  return { ...loaded, placement: resolved.placement, storages, unusedKeys: resolved.unusedKeys };
}

/** Fills `storages` (key -> device) from the tensor placement; one device per storage. */
function assignStorages(
  ckpt: Checkpoint,
  placement: ReadonlyMap<string, string>,
  storages: Map<string, string>,
  options: LoadWithDeviceMapOptions,
): void {
  const owner = new Map<string, string>();
  for (const entry of ckpt.entries) {
    const d = String(options.runtime.check(placement.get(entry.name) as string));
    for (const s of ckpt.storagesOf(entry)) {
      const previous = storages.get(s.key);
      if (previous !== undefined && previous !== d) {
        const other = owner.get(s.key) as string;
        throw new MigrateError(
          'STORAGE_SPLIT',
          `${quote(other)} and ${quote(entry.name)} share storage ${quote(s.key, '')} but the device map puts them on ${quote(previous, '')} and ${quote(d, '')}; ` +
            `a storage is one allocation, so map both to one device (e.g. their common parent module)`,
          { key: s.key, tensors: [other, entry.name], devices: [previous, d] },
        );
      }
      storages.set(s.key, d);
      owner.set(s.key, entry.name);
    }
  }
}

/**
 * Putting a loaded module's tensors where a device map says.
 *
 * @module
 */

import type { DeviceRuntime } from '@x/device';
import { resolveDeviceMap, type DeviceMap, type TiedGroups } from './device-map.js';
import type { Module } from '../module/module.js';
import { relocate } from '../module/placed.js';

/** Result of {@link applyDeviceMap}. */
export interface AppliedDeviceMap {
  /** Tensor name (every name of a tied tensor) -> device string the runtime put it on. */
  placement: Map<string, string>;
  /** Map keys that name nothing in the module (accelerate warns about these). */
  unusedKeys: string[];
}

/**
 * Moves each tensor of `module` to the device its name resolves to in `map` (longest dotted
 * prefix wins, `''` covers everything), in place and in torch's `_apply` order. Everything is
 * checked before anything moves: coverage, tied tensors on one device, and the availability of
 * every device. Tensors already on their device stay (zero bytes in the ledger); moved ones are
 * copied once and the old tensor is disposed, so the runtime's ledger shows the cost.
 *
 * @throws MigrateError `DEVICE_MAP_UNCOVERED`, `DEVICE_MAP_TIED_SPLIT`, `DEVICE_MAP_INVALID`;
 *   DeviceError `DEVICE_UNAVAILABLE` for a device the runtime has no backend for.
 */
export function applyDeviceMap(
  module: Module,
  map: DeviceMap,
  runtime: DeviceRuntime,
  options: { tiedGroups?: TiedGroups } = {},
): AppliedDeviceMap {
  const names = module.namedTensors({ removeDuplicate: false }).map(({ name }) => name);
  const tiedGroups = [...module.tiedGroups(), ...(options.tiedGroups ?? [])];
  const resolved = resolveDeviceMap(map, names, { tiedGroups });
  const checked = new Map<string, string>();
  for (const d of new Set(resolved.placement.values())) checked.set(d, runtime.check(d).toString());
  const placement = new Map([...resolved.placement].map(([name, d]) => [name, checked.get(d) as string]));
  module.applyTensors((tensor, name) => relocate(tensor, placement.get(name) as string, runtime));
  return { placement, unusedKeys: resolved.unusedKeys };
}

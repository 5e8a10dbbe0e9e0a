/**
 * Explicit device maps (`{ features: 'cuda:0', classifier: 'cpu' }`) resolved per tensor name,
 * with accelerate's coverage rule and a hard error for tied tensors split across devices.
 *
 * @module
 */

import { device, quote, type DeviceLike } from '@x/device';
import { MigrateError, listNames } from '../errors.js';

/** A device in a device map: a device string or `Device`, or an accelerator index. */
export type DeviceMapValue = DeviceLike | number;

/**
 * Module path (or tensor name) -> device. `''` is the whole model. A tensor goes to the device
 * of the longest key that is its name or a dotted prefix of it.
 */
export type DeviceMap = Readonly<Record<string, DeviceMapValue>>;

/** Groups of tensor names that share one tensor (tied weights). */
export type TiedGroups = readonly (readonly string[])[];

/** Result of {@link resolveDeviceMap}. */
export interface ResolvedDeviceMap {
  /** Tensor name -> device string (as `Device.toString()` writes it), in the order given. */
  placement: Map<string, string>;
  /** Map keys that name no tensor and no module holding one (accelerate only warns for these). */
  unusedKeys: string[];
}

/**
 * Canonical string of a device-map value.
 *
 * @throws MigrateError `DEVICE_MAP_INVALID` naming the key when the value is not a device.
 */
export function deviceString(key: string, value: DeviceMapValue): string {
  try {
    return device(value).toString();
  } catch (e) {
    throw new MigrateError(
      'DEVICE_MAP_INVALID',
      `device map entry ${quote(key)} is not a device: ${quote(String(value), '')} (${e instanceof Error ? e.message : String(e)})`,
      { key, value: String(value), cause: e },
    );
  }
}

/**
 * The key of `map` that places `name`: the name itself, else its longest dotted prefix, else `''`.
 * `'features'` covers `'features.0.weight'` but not `'features2.weight'`.
 */
export function coveringKey(keys: ReadonlySet<string>, name: string): string | undefined {
  let prefix = name;
  for (;;) {
    if (keys.has(prefix)) return prefix;
    if (prefix === '') return undefined;
    const dot = prefix.lastIndexOf('.');
    prefix = dot < 0 ? '' : prefix.slice(0, dot);
  }
}

/**
 * Resolves an explicit device map for the given tensor names: each name gets the device of its
 * longest covering key (accelerate's `_get_param_device`). Every name must be covered, and all
 * names of a tied group must land on one device (accelerate only warns there; a split tie
 * silently doubles memory and breaks the tie, so it is an error here). A device without index and
 * the same type with index 0 count as one device for the tie check, as in accelerate's
 * `check_device_same`.
 *
 * @throws MigrateError `DEVICE_MAP_UNCOVERED` listing the uncovered names (accelerate's message),
 *   `DEVICE_MAP_TIED_SPLIT` naming the tied names and their devices, `DEVICE_MAP_INVALID`.
 * @example
 * ```ts
 * const { placement } = resolveDeviceMap(
 *   { '': 'cpu', features: 'cuda:0' },
 *   ['features.0.weight', 'classifier.weight'],
 * );
 * placement.get('features.0.weight'); // 'cuda:0'
 * placement.get('classifier.weight'); // 'cpu'
 * ```
 */
export function resolveDeviceMap(
  map: DeviceMap,
  names: Iterable<string>,
  options: { tiedGroups?: TiedGroups } = {},
): ResolvedDeviceMap {
  const devices = new Map<string, string>();
  for (const [key, value] of Object.entries(map)) devices.set(key, deviceString(key, value));
  const keys = new Set(devices.keys());
  const used = new Set<string>();
  const placement = new Map<string, string>();
  const uncovered: string[] = [];
  for (const name of names) {
    const key = coveringKey(keys, name);
    if (key === undefined) {
      uncovered.push(name);
      continue;
    }
    used.add(key);
    placement.set(name, devices.get(key) as string);
  }
  if (uncovered.length > 0) {
    throw new MigrateError(
      'DEVICE_MAP_UNCOVERED',
      `The device_map provided does not give any device for the following parameters: ${listNames(uncovered)}`,
      { uncovered },
    );
  }
  for (const group of options.tiedGroups ?? []) checkTiedGroup(group, placement);
  const unusedKeys = [...keys].filter((k) => !used.has(k));
  return { placement, unusedKeys };
}

function checkTiedGroup(group: readonly string[], placement: ReadonlyMap<string, string>): void {
  const placed = group.filter((n) => placement.has(n));
  const first = placed[0];
  if (first === undefined) return;
  const firstDevice = placement.get(first) as string;
  const other = placed.find((n) => !sameDevice(placement.get(n) as string, firstDevice));
  if (other === undefined) return;
  const otherDevice = placement.get(other) as string;
  throw new MigrateError(
    'DEVICE_MAP_TIED_SPLIT',
    `Tied parameters are on different devices: ${quote(first)} on ${quote(firstDevice, '')}, ` +
      `${quote(other)} on ${quote(otherDevice, '')}. They share one tensor; put them on one device ` +
      `(map their common parent module) or use a planned strategy such as 'auto'.`,
    { group: [...group], devices: Object.fromEntries(placed.map((n) => [n, placement.get(n)])) },
  );
}

function sameDevice(a: string, b: string): boolean {
  if (a === b) return true;
  const da = device(a);
  const db = device(b);
  return da.type === db.type && da.type !== 'cpu' && (da.index ?? 0) === (db.index ?? 0);
}

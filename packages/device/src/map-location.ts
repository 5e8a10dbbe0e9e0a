/**
 * `torch.load(map_location=...)` as one pure function (torch/serialization.py `_get_restore_location`):
 * which device each storage goes to. Availability is the runtime's job ({@link DeviceRuntime.check}).
 *
 * @module
 */
import { Device, device, type DeviceLike } from './device.js';
import { DeviceError, quote } from './errors.js';
import type { TorchDType } from './dtype.js';

/** What {@link resolveLocation} and a `mapLocation` function learn about one storage. */
export interface StorageInfo {
  /** Storage key in the checkpoint (`'0'`, `'1'`, …). */
  key: string;
  /** dtype of the first tensor referencing the storage. */
  dtype: TorchDType;
  /** Number of elements. */
  numel: number;
  /** Size in bytes. */
  byteLength: number;
  /** Location tag as saved: `'cpu'`, `'cuda:0'`, `'mps'`, `'meta'`, … */
  location: string;
}

/**
 * torch's four `map_location` forms (`undefined` is the fourth): a device for everything, a record remapping
 * saved location tags, or a function deciding per storage (`undefined`/`null` = restore as saved).
 * A `ReadonlyMap` is accepted like a record.
 */
export type MapLocation =
  | DeviceLike
  | Readonly<Record<string, DeviceLike>>
  | ReadonlyMap<string, DeviceLike>
  | ((storage: StorageInfo, savedLocation: string) => DeviceLike | undefined | null);

/**
 * Location tags torch restores by prefix (`location.startswith(...)`; priorities in torch/serialization.py `_package_registry`: cuda 20, hpu 24, xpu 25, mtia 26)
 * plus the TF.js types; the tag must then parse as a device.
 */
const PREFIX_TAGS: readonly string[] = ['cuda', 'hpu', 'xpu', 'mtia', 'wasm', 'webgl', 'webgpu'];

/** Location tags torch restores only on exact match (`_package_registry`: cpu 10, mps 21 in 1.13, meta 22). */
const EXACT_TAGS: readonly string[] = ['cpu', 'mps', 'meta'];

/**
 * The device a storage is restored to, with torch's rules:
 * - `undefined`: the saved location tag;
 * - string or {@link Device}: that tag for every storage (a Device as `String(device)`, so `cpu:0` fails as in torch);
 * - record/Map: `map[saved] ?? saved` by exact tag string (`{ cuda: 'cpu' }` does not match `cuda:0`);
 * - function: its device, or the saved tag when it returns `undefined`/`null`.
 *
 * Tags go through torch's `default_restore_location` table: `cpu`, `mps`, `meta` by exact string; `cuda*`, `hpu*`,
 * `xpu*`, `mtia*` (and `wasm*`, `webgl*`, `webgpu*`) parsed as devices; anything else throws `LOCATION_UNKNOWN`
 * with torch's "don't know how to restore data location" text. Devices returned by a function are not tags
 * (torch's callable places the storage itself), so any valid device is accepted from it.
 *
 * @example
 * ```ts
 * const s = { key: '0', dtype: 'float32', numel: 6, byteLength: 24, location: 'cuda:1' } as const;
 * String(resolveLocation(undefined, s)); // 'cuda:1'
 * String(resolveLocation('cpu', s)); // 'cpu'
 * String(resolveLocation({ 'cuda:1': 'cuda:0' }, s)); // 'cuda:0'
 * String(resolveLocation({ cuda: 'cpu' }, s)); // 'cuda:1' (exact tags only)
 * String(resolveLocation((st) => (st.byteLength > 16 ? 'cpu' : undefined), s)); // 'cpu'
 * ```
 */
export function resolveLocation(mapLocation: MapLocation | undefined, storage: StorageInfo): Device {
  return restoreLocation(mapLocation)(storage);
}

/**
 * {@link resolveLocation} with `mapLocation` fixed: its form is looked at once, as torch's
 * `_get_restore_location` builds one `restore_location` per `torch.load`. Errors (an unknown tag,
 * an invalid `mapLocation`) surface when a storage is restored, as in torch.
 */
export function restoreLocation(mapLocation: MapLocation | undefined): (storage: StorageInfo) => Device {
  if (mapLocation === undefined || mapLocation === null) return (s) => restoreTag(s.location);
  if (typeof mapLocation === 'string' || mapLocation instanceof Device) {
    const tag = String(mapLocation);
    return () => restoreTag(tag);
  }
  if (typeof mapLocation === 'function') {
    return (s) => {
      const chosen = mapLocation(s, s.location);
      return chosen === undefined || chosen === null ? restoreTag(s.location) : device(chosen);
    };
  }
  if (mapLocation instanceof Map) {
    return (s) => {
      const mapped = mapLocation.get(s.location);
      return restoreTag(mapped === undefined ? s.location : tagOf(mapped));
    };
  }
  if (isPlainRecord(mapLocation))
    return (s) =>
      restoreTag(Object.hasOwn(mapLocation, s.location) ? tagOf(mapLocation[s.location] as DeviceLike) : s.location);
  return () => {
    throw new DeviceError(
      'MAP_LOCATION_INVALID',
      `mapLocation must be a device string, a Device, a record or Map of location tags, or a function; got ${describe(mapLocation)}`,
    );
  };
}

function restoreTag(tag: string): Device {
  if (EXACT_TAGS.includes(tag)) return device(tag);
  if (typeof tag === 'string' && PREFIX_TAGS.some((p) => tag.startsWith(p))) return device(tag);
  throw new DeviceError(
    'LOCATION_UNKNOWN',
    `don't know how to restore data location of torch.storage.UntypedStorage (tagged with ${quote(String(tag), '')})`,
    { location: quote(String(tag), '') },
  );
}

function tagOf(value: DeviceLike): string {
  if (typeof value === 'string' || value instanceof Device) return String(value);
  throw new DeviceError(
    'MAP_LOCATION_INVALID',
    `mapLocation record values must be device strings or Devices; got ${describe(value)}`,
  );
}

function isPlainRecord(value: unknown): value is Readonly<Record<string, DeviceLike>> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return quote((value as object).constructor?.name ?? 'object', '');
  return typeof value;
}

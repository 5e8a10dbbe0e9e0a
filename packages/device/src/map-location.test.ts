import { describe, expect, it } from 'vitest';
import { device } from './device.js';
import { isDeviceError } from './errors.js';
import { resolveLocation, type MapLocation, type StorageInfo } from './map-location.js';

const storage = (location: string, byteLength = 24): StorageInfo => ({
  key: '0',
  dtype: 'float32',
  numel: byteLength / 4,
  byteLength,
  location,
});

const unknown = (tag: string) =>
  `don't know how to restore data location of torch.storage.UntypedStorage (tagged with ${tag})`;

/**
 * Each row: map_location, saved tag, expected device string (the tag torch's deserializer gets) or the error torch raises
 * before any availability check. Torch results were produced with torch 1.13 `_get_restore_location(ml)(storage, tag)`
 * (/usr/bin/python3); where torch then says "CUDA ... is_available() is False", resolution succeeded and the runtime's
 * check (runtime.test.ts) raises that text.
 */
const ROWS: [
  label: string,
  ml: MapLocation | undefined,
  saved: string,
  expected: string | { error: string; message: string },
][] = [
  // map_location None (torch/serialization.py `_get_restore_location`) -> default_restore_location(storage, location)
  ['None restores cpu', undefined, 'cpu', 'cpu'],
  ['None restores cuda:0 as saved', undefined, 'cuda:0', 'cuda:0'],
  ['None restores cuda:3 (count checked later)', undefined, 'cuda:3', 'cuda:3'],
  ['None restores bare cuda (current device)', undefined, 'cuda', 'cuda'],
  ['None restores meta (`_package_registry` priority 22)', undefined, 'meta', 'meta'],
  ['None restores mps (`_package_registry` priority 21, exact in 1.13)', undefined, 'mps', 'mps'],
  ['None restores xpu:1 (`_package_registry` priority 25, prefix)', undefined, 'xpu:1', 'xpu:1'],
  ['None restores hpu:0 (`_package_registry` priority 24, prefix)', undefined, 'hpu:0', 'hpu:0'],
  // `_cpu_deserialize` (priority 10) needs exactly 'cpu'
  ['None fails for cpu:0', undefined, 'cpu:0', { error: 'LOCATION_UNKNOWN', message: unknown('cpu:0') }],
  [
    'None fails for CPU (exact, case-sensitive)',
    undefined,
    'CPU',
    { error: 'LOCATION_UNKNOWN', message: unknown('CPU') },
  ],
  [
    'None fails for ipu (no registered package)',
    undefined,
    'ipu',
    { error: 'LOCATION_UNKNOWN', message: unknown('ipu') },
  ],
  [
    'None fails for xla:0 (no registered package)',
    undefined,
    'xla:0',
    { error: 'LOCATION_UNKNOWN', message: unknown('xla:0') },
  ],
  [
    'None fails for meta:0 (meta is exact)',
    undefined,
    'meta:0',
    { error: 'LOCATION_UNKNOWN', message: unknown('meta:0') },
  ],
  [
    'None parses cuda tags: cuda:01 is invalid',
    undefined,
    'cuda:01',
    { error: 'DEVICE_INVALID', message: "Invalid device string: 'cuda:01'" },
  ],
  // map_location dict: map_location.get(location, location), exact tag strings
  ["{'cuda:0':'cpu'} maps cuda:0", { 'cuda:0': 'cpu' }, 'cuda:0', 'cpu'],
  ["{'cuda:0':'cpu'} does not match cuda:1", { 'cuda:0': 'cpu' }, 'cuda:1', 'cuda:1'],
  ["{'cuda':'cpu'} does not match cuda:0", { cuda: 'cpu' }, 'cuda:0', 'cuda:0'],
  ["{'cuda:1':'cuda:0'} remaps between GPUs", { 'cuda:1': 'cuda:0' }, 'cuda:1', 'cuda:0'],
  ['dict passes unmapped cpu through', { 'cuda:0': 'meta' }, 'cpu', 'cpu'],
  [
    "{'cuda:0':'cpu:0'} fails like torch: the mapped tag is restored by the cpu rule",
    { 'cuda:0': 'cpu:0' },
    'cuda:0',
    { error: 'LOCATION_UNKNOWN', message: unknown('cpu:0') },
  ],
  // extension: torch 1.13 raises AttributeError ("'torch.device' object has no attribute 'startswith'") for Device values
  ['dict with a Device value uses String(device)', { 'cuda:0': device('cpu') }, 'cuda:0', 'cpu'],
  ['Map works like dict', new Map([['cuda:0', 'cpu']]), 'cuda:0', 'cpu'],
  [
    'dict keys are own properties only (toString is not a tag)',
    {},
    'toString',
    { error: 'LOCATION_UNKNOWN', message: unknown('toString') },
  ],
  // map_location str: every storage to that string, saved tag ignored
  ["'cpu' sends cuda:1 to cpu", 'cpu', 'cuda:1', 'cpu'],
  ["'meta' sends cpu to meta", 'meta', 'cpu', 'meta'],
  ["'cuda:1' sends cpu to cuda:1", 'cuda:1', 'cpu', 'cuda:1'],
  ["'cpu:0' fails", 'cpu:0', 'cpu', { error: 'LOCATION_UNKNOWN', message: unknown('cpu:0') }],
  ["'CPU' fails", 'CPU', 'cpu', { error: 'LOCATION_UNKNOWN', message: unknown('CPU') }],
  ["'' fails", '', 'cpu', { error: 'LOCATION_UNKNOWN', message: unknown('') }],
  [
    "'cuda:01' fails in torch.device parsing",
    'cuda:01',
    'cpu',
    { error: 'DEVICE_INVALID', message: "Invalid device string: 'cuda:01'" },
  ],
  // map_location torch.device: str(device)
  ["device('cpu') sends cuda:0 to cpu", device('cpu'), 'cuda:0', 'cpu'],
  ["device('cuda') stays bare cuda", device('cuda'), 'cpu', 'cuda'],
  [
    "device('cpu', 0) fails: str() is 'cpu:0'",
    device('cpu', 0),
    'cpu',
    { error: 'LOCATION_UNKNOWN', message: unknown('cpu:0') },
  ],
  // map_location callable: r = map_location(storage, location); None -> default restore
  ['callable returning undefined restores saved cpu', () => undefined, 'cpu', 'cpu'],
  ['callable returning null restores saved cuda:0', () => null, 'cuda:0', 'cuda:0'],
  ['callable returning cpu places on cpu', () => 'cpu', 'cuda:0', 'cpu'],
  // a torch callable moves the storage itself (e.g. storage.cpu()), so its result is a device, not a tag
  ['callable may return cpu:0 (a device, not a tag)', () => 'cpu:0', 'cuda:0', 'cpu:0'],
];

describe('resolveLocation (checked against torch 1.13)', () => {
  it.each(ROWS)('%s', (_label, ml, saved, expected) => {
    if (typeof expected === 'string') {
      expect(String(resolveLocation(ml, storage(saved)))).toBe(expected);
      return;
    }
    let caught: unknown;
    try {
      resolveLocation(ml, storage(saved));
    } catch (e) {
      caught = e;
    }
    expect(isDeviceError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: expected.error, message: expected.message });
  });

  it('the callable runs with the storage and its saved location and can decide per storage', () => {
    const seen: [string, string][] = [];
    const ml = (s: StorageInfo, saved: string) => {
      seen.push([s.key, saved]);
      return s.byteLength > 16 ? 'cpu' : undefined;
    };
    expect(String(resolveLocation(ml, { ...storage('cuda:1', 32), key: '7' }))).toBe('cpu');
    expect(String(resolveLocation(ml, { ...storage('cuda:1', 8), key: '8' }))).toBe('cuda:1');
    expect(seen).toEqual([
      ['7', 'cuda:1'],
      ['8', 'cuda:1'],
    ]);
  });

  it('rejects forms torch has no meaning for, such as bytes (bytes break the deserializers)', () => {
    const bytes = new TextEncoder().encode('cpu') as unknown as MapLocation;
    expect(() => resolveLocation(bytes, storage('cpu'))).toThrow(
      expect.objectContaining({ code: 'MAP_LOCATION_INVALID' }),
    );
    const badValue = { cpu: 42 } as unknown as MapLocation;
    expect(() => resolveLocation(badValue, storage('cpu'))).toThrow(
      expect.objectContaining({ code: 'MAP_LOCATION_INVALID' }),
    );
  });

  it('is pure: the same input gives the same device and the record is not mutated', () => {
    const ml = Object.freeze({ 'cuda:0': 'cpu' });
    expect(String(resolveLocation(ml, storage('cuda:0')))).toBe('cpu');
    expect(String(resolveLocation(ml, storage('cuda:0')))).toBe('cpu');
    expect(ml).toEqual({ 'cuda:0': 'cpu' });
  });
});

/**
 * Reading command-line values: usage mistakes, device strings and `--map-location` specs checked
 * with torch's device grammar before any file is read.
 *
 * @module
 */

import { CodedError, device, DeviceError, isDeviceError, quote, type MapLocation } from '@x/device';
import type { CliValues } from './command.js';

/** A command-line mistake (code `USAGE`, exit 2). */
export class UsageError extends CodedError<'USAGE'> {
  /** @param message - what was expected and what was found. */
  constructor(message: string) {
    super('UsageError', 'USAGE', message);
  }
}

/** What `--help` and errors say a device string looks like. */
export const DEVICE_FORMS = 'TYPE or TYPE:INDEX, e.g. cpu, cuda, cuda:0, mps, meta, wasm';

/**
 * A device string as torch parses it (`cpu`, `cuda:1`, `wasm`), returned trimmed; anything else
 * is `DEVICE_INVALID` naming the string, the flag and the valid forms.
 *
 * @throws DeviceError `DEVICE_INVALID`.
 */
export function parseDevice(spec: string, flag: string): string {
  const s = spec.trim();
  try {
    return String(device(s));
  } catch (e) {
    if (!isDeviceError(e)) throw e;
    throw new DeviceError(
      'DEVICE_INVALID',
      `${flag}: ${quote(s)} is not a device (${e.message}); expected ${DEVICE_FORMS}`,
    );
  }
}

/**
 * `--map-location`: a device for every storage (`cpu`), or `SAVED=DEVICE` pairs separated by
 * commas (`cuda:1=cpu,cuda:0=cpu`) remapping exact saved tags as torch's dict form does. Both
 * sides are checked as devices.
 *
 * @throws UsageError for a malformed pair; DeviceError `DEVICE_INVALID` for a bad device string.
 */
export function parseMapLocation(spec: string, flag = '--map-location'): MapLocation {
  if (spec.trim() === '')
    throw new UsageError(
      `${flag} is empty; expected a device (${DEVICE_FORMS}) or SAVED=DEVICE pairs such as cuda:1=cpu,cuda:0=cpu`,
    );
  if (!spec.includes('=')) return parseDevice(spec, flag);
  const map: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    const [from, to, extra] = pair.split('=').map((s) => s.trim());
    if (!from || !to || extra !== undefined)
      throw new UsageError(
        `${flag}: expected SAVED=DEVICE pairs separated by commas (cuda:1=cpu,cuda:0=cpu), found ${quote(pair)}`,
      );
    const key = parseDevice(from, flag);
    if (Object.hasOwn(map, key)) throw new UsageError(`${flag} names ${quote(key)} twice`);
    map[key] = parseDevice(to, flag);
  }
  return map;
}

/**
 * The value of a string option that must be one of `allowed` (the first is the default).
 *
 * @throws UsageError naming the flag and the allowed values.
 */
export function oneOf<const T extends string>(values: CliValues, name: string, allowed: readonly [T, ...T[]]): T {
  const v = values[name];
  if (v === undefined) return allowed[0];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new UsageError(`--${name}: expected ${allowed.join(' or ')}, found ${quote(String(v))}`);
  return v as T;
}

/**
 * The positionals, checked to be exactly `names` (e.g. `['IN', 'OUT']`).
 *
 * @throws UsageError `expected IN and OUT, found 1 argument`.
 */
export function expectArgs(positionals: readonly string[], names: readonly string[]): string[] {
  if (positionals.length !== names.length) {
    const want = names.length === 1 ? `one ${names[0]}` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    throw new UsageError(
      `expected ${want}, found ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`,
    );
  }
  return [...positionals];
}

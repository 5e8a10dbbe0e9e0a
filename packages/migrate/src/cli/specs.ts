/**
 * The small argument languages of `x-migrate` and the example apps: `key=value,…` lists and
 * `--max-memory` budgets (`--map-location` is `parseMapLocation` of `@x/checkpoint/cli`).
 *
 * @module
 */

import { quote } from '@x/device';
import { MigrateError } from '../errors.js';
import type { MemorySize } from '../device-map/memory.js';

/**
 * `key=value,key=value` as a record (keys may be empty: `=cpu` is the whole model in a device map).
 *
 * @throws MigrateError `CLI_USAGE` naming the option and the bad item.
 */
export function parseAssignments(spec: string, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of spec.split(',')) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (eq < 0 || value === '')
      throw usage(`${option} expects key=value pairs separated by commas; got ${quote(item, '')}`);
    if (Object.hasOwn(out, key)) throw usage(`${option} names ${quote(key, '')} twice`);
    out[key] = value;
  }
  return out;
}

/**
 * A `--max-memory` spec: `device=size` pairs where a size is a byte count (`6000`) or has a unit
 * (`2GiB`, `500MB`, see `parseMemory`).
 *
 * @throws MigrateError `CLI_USAGE` for malformed pairs (sizes are checked by the planner).
 */
export function parseMaxMemory(spec: string): Record<string, MemorySize> {
  const sizes = parseAssignments(spec, '--max-memory');
  return Object.fromEntries(Object.entries(sizes).map(([d, size]) => [d, /^\d+$/.test(size) ? Number(size) : size]));
}

/** A `CLI_USAGE` error. */
export function usage(message: string): MigrateError {
  return new MigrateError('CLI_USAGE', message);
}

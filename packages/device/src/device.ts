/**
 * `torch.device` in TypeScript: the same string grammar, constructor forms and error texts
 * (c10/core/Device.cpp), plus the TF.js-only types `wasm`, `webgl`, `webgpu`.
 *
 * @module
 */
import { DeviceError, quote } from './errors.js';

/**
 * Device types torch 1.13 knows, in the order its error message lists them (verified against torch 1.13),
 * followed by the types newer releases added.
 */
export const TORCH_DEVICE_TYPES: readonly string[] = Object.freeze([
  'cpu',
  'cuda',
  'ipu',
  'xpu',
  'mkldnn',
  'opengl',
  'opencl',
  'ideep',
  'hip',
  've',
  'fpga',
  'ort',
  'xla',
  'lazy',
  'vulkan',
  'mps',
  'meta',
  'hpu',
  'privateuseone',
  'maia',
  'mtia',
]);

/** Device types that exist only in TF.js; first-class here, not aliases. */
export const TFJS_DEVICE_TYPES: readonly string[] = Object.freeze(['wasm', 'webgl', 'webgpu']);

const KNOWN_TYPES: ReadonlySet<string> = new Set([...TORCH_DEVICE_TYPES, ...TFJS_DEVICE_TYPES]);

/** c10's grammar: `([a-zA-Z_]+)(?::([1-9]\d*|0))?`, anchored. */
const DEVICE_PATTERN = /^([a-zA-Z_]+)(?::([1-9]\d*|0))?$/;

/** Largest index `std::stoi` parses; beyond it torch says "Could not parse device index". */
const MAX_PARSED_INDEX = 2 ** 31 - 1;

/** A device, or a string in torch.device's grammar. */
export type DeviceLike = string | Device;

/**
 * An immutable `(type, index)` pair like `torch.device`. `index` is `undefined` for "no index"
 * (torch's `-1`), so `cuda` and `cuda:0` are different devices, as in torch.
 */
export class Device {
  /** Device type, e.g. `'cuda'`. */
  readonly type: string;
  /** Device index, or `undefined` when none was given. */
  readonly index: number | undefined;

  /** Use {@link device} to build one from user input; this constructor does not validate. */
  constructor(type: string, index?: number) {
    this.type = type;
    this.index = index;
    Object.freeze(this);
  }

  /** `type` or `type:index`, which {@link device} parses back to an equal device. */
  toString(): string {
    return this.index === undefined ? this.type : `${this.type}:${this.index}`;
  }

  /**
   * Equality by value, type and index both (torch: `device('cuda') != device('cuda:0')`).
   *
   * @example
   * ```ts
   * device('cuda:0').equals('cuda:0'); // true
   * device('cuda').equals('cuda:0'); // false
   * ```
   */
  equals(other: DeviceLike): boolean {
    const o = device(other);
    return o.type === this.type && o.index === this.index;
  }
}

/**
 * Builds a {@link Device} the way `torch.device(...)` does:
 * `device('cuda:1')`, `device('cuda', 1)`, `device(otherDevice)`, `device(1)` (= `cuda:1`, as torch 1.13).
 * Throws {@link DeviceError} `DEVICE_INVALID` with torch's texts.
 *
 * @example
 * ```ts
 * device('cpu'); // Device { type: 'cpu', index: undefined }
 * device('cuda', 1).equals('cuda:1'); // true
 * device('cuda:01'); // throws "Invalid device string: 'cuda:01'"
 * ```
 */
export function device(spec: DeviceLike | number, index?: number): Device {
  if (spec instanceof Device) {
    if (index !== undefined) throw invalid("Device(): argument 'type' (position 1) must be str, not torch.device");
    return spec;
  }
  if (typeof spec === 'number') {
    if (index !== undefined) throw invalid("Device(): argument 'type' (position 1) must be str, not int");
    return new Device('cuda', checkIndex(spec));
  }
  if (typeof spec !== 'string') {
    throw invalid(`Device(): argument 'type' (position 1) must be str, not ${typeof spec}`);
  }
  const parsed = parseDeviceString(spec);
  if (index === undefined) return parsed;
  if (parsed.index !== undefined) {
    throw invalid(`type (string) must not include an index because index was passed explicitly: ${quote(spec, '')}`);
  }
  return new Device(parsed.type, checkIndex(index));
}

function parseDeviceString(spec: string): Device {
  if (spec.length === 0) throw invalid('Device string must not be empty');
  const m = DEVICE_PATTERN.exec(spec);
  if (m === null) throw invalid(`Invalid device string: ${quote(spec, "'")}`);
  const type = m[1] as string;
  const digits = m[2];
  if (!KNOWN_TYPES.has(type)) {
    throw invalid(
      `Expected one of ${[...KNOWN_TYPES].join(', ')} device type at start of device string: ${quote(type, '')}`,
    );
  }
  if (digits === undefined) return new Device(type);
  const idx = Number(digits);
  if (idx > MAX_PARSED_INDEX) {
    throw invalid(`Could not parse device index ${quote(digits, "'")} in device string ${quote(spec, "'")}`);
  }
  return new Device(type, idx);
}

function checkIndex(index: number): number {
  if (!Number.isSafeInteger(index)) throw invalid(`Device index must be an integer, got ${quote(String(index), '')}`);
  if (index < 0) throw invalid('Device index must not be negative');
  return index;
}

function invalid(message: string): DeviceError {
  return new DeviceError('DEVICE_INVALID', message);
}

import { describe, expect, it } from 'vitest';
import { Device, device } from './device.js';
import { errorOf } from './testing/errors.js';

/** torch 1.13's list in `Expected one of ...` (printed by /usr/bin/python3 -c "torch.device('CUDA')"). */
const TORCH_113_LIST =
  'cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, ort, xla, lazy, vulkan, mps, meta, hpu, privateuseone';
/** Our list = torch 1.13's, then the types newer torch added (maia, mtia), then the TF.js types. */
const OUR_LIST = `${TORCH_113_LIST}, maia, mtia, wasm, webgl, webgpu`;

describe('device(): grammar (texts as printed by torch 1.13 torch.device(...))', () => {
  it.each([
    ['', 'Device string must not be empty'],
    ['cuda:01', "Invalid device string: 'cuda:01'"],
    ['cuda1', "Invalid device string: 'cuda1'"],
    ['cuda:', "Invalid device string: 'cuda:'"],
    [':0', "Invalid device string: ':0'"],
    ['cuda:1a', "Invalid device string: 'cuda:1a'"],
    ['cuda:-1', "Invalid device string: 'cuda:-1'"],
    ['cuda:1:2', "Invalid device string: 'cuda:1:2'"],
    [' cuda', "Invalid device string: ' cuda'"],
    ['cuda:99999999999', "Could not parse device index '99999999999' in device string 'cuda:99999999999'"],
    ['CUDA', `Expected one of ${OUR_LIST} device type at start of device string: CUDA`],
    ['a_b', `Expected one of ${OUR_LIST} device type at start of device string: a_b`],
  ])('device(%j) throws %j', (spec, message) => {
    const e = errorOf(() => device(spec));
    expect(e.code).toBe('DEVICE_INVALID');
    expect(e.message).toBe(message);
  });

  it("keeps torch 1.13 wording for unknown types: our text is torch's with our extra types in the list", () => {
    const torchText = `Expected one of ${TORCH_113_LIST} device type at start of device string: CUDA`;
    const ours = errorOf(() => device('CUDA')).message;
    expect(ours.replace(', maia, mtia, wasm, webgl, webgpu', '')).toBe(torchText);
  });

  it.each([
    ['cpu', 'cpu', undefined],
    ['cuda', 'cuda', undefined],
    ['cuda:0', 'cuda', 0],
    ['cuda:1', 'cuda', 1],
    ['meta', 'meta', undefined],
    ['mps', 'mps', undefined],
    ['xpu:3', 'xpu', 3],
    ['mkldnn', 'mkldnn', undefined],
    ['wasm', 'wasm', undefined],
    ['webgl', 'webgl', undefined],
    ['webgpu:0', 'webgpu', 0],
  ])('parses %j as type %j index %j and String() round-trips', (spec, type, index) => {
    const d = device(spec);
    expect(d.type).toBe(type);
    expect(d.index).toBe(index);
    expect(String(d)).toBe(spec);
    expect(device(String(d)).equals(d)).toBe(true);
  });

  it('cuda and cuda:0 differ (torch: device("cuda") == device("cuda:0") is False)', () => {
    expect(device('cuda').equals('cuda:0')).toBe(false);
    expect(device('cuda:0').equals(device('cuda', 0))).toBe(true);
    expect(device('cuda:1').equals('cuda:2')).toBe(false);
  });

  it('constructor forms: (type, index), (Device), (int) = cuda:int as in torch 1.13', () => {
    expect(String(device('cuda', 1))).toBe('cuda:1');
    const d = device('cuda:1');
    expect(device(d)).toBe(d);
    expect(String(device(1))).toBe('cuda:1');
    expect(device(0).equals('cuda:0')).toBe(true);
  });

  it.each([
    [() => device('cuda', -1), 'Device index must not be negative'],
    [() => device(-1), 'Device index must not be negative'],
    [() => device('cuda:1', 0), 'type (string) must not include an index because index was passed explicitly: cuda:1'],
    [() => device(device('cuda'), 1), "Device(): argument 'type' (position 1) must be str, not torch.device"],
    [() => device(1, 2), "Device(): argument 'type' (position 1) must be str, not int"],
  ])('argument errors use torch 1.13 texts (%#)', (f, message) => {
    expect(errorOf(f).message).toBe(message);
  });

  it('Device objects are frozen values', () => {
    const d = new Device('cuda', 1);
    expect(Object.isFrozen(d)).toBe(true);
    expect(d.toString()).toBe('cuda:1');
  });

  it('cuts and escapes attacker text in messages', () => {
    const long = `x${'\u0000'.repeat(100)}`;
    const e = errorOf(() => device(long));
    expect(e.message.length).toBeLessThan(512);
    expect(e.message).toContain('\\x00');
    expect(e.message).not.toContain('\u0000');
  });
});

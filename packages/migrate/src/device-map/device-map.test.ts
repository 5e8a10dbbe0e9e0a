import { describe, expect, it } from 'vitest';
import { coveringKey, resolveDeviceMap } from './device-map.js';
import { thrown } from '../testing/errors.js';

describe('resolveDeviceMap', () => {
  const names = ['features.0.weight', 'features.1.weight', 'features10.weight', 'classifier.weight'];

  it('gives each tensor the device of its longest dotted prefix', () => {
    const { placement, unusedKeys } = resolveDeviceMap({ '': 'cpu', features: 'cuda:0', 'features.1': 'wasm' }, names);
    expect([...placement]).toEqual([
      ['features.0.weight', 'cuda:0'],
      ['features.1.weight', 'wasm'],
      // 'features' is not a prefix of 'features10' on a dot boundary
      ['features10.weight', 'cpu'],
      ['classifier.weight', 'cpu'],
    ]);
    expect(unusedKeys).toEqual([]);
  });

  it('accepts tensor names as keys and reports keys that match nothing', () => {
    const { placement, unusedKeys } = resolveDeviceMap(
      { '': 'cpu', 'classifier.weight': 'cuda', decoder: 'cuda:1' },
      names,
    );
    expect(placement.get('classifier.weight')).toBe('cuda');
    expect(unusedKeys).toEqual(['decoder']);
  });

  it('lists every uncovered tensor (accelerate message)', () => {
    const e = thrown(() => resolveDeviceMap({ features: 'cpu' }, [...names, 'classifier.bias']));
    expect(e.code).toBe('DEVICE_MAP_UNCOVERED');
    expect(e.message).toBe(
      'The device_map provided does not give any device for the following parameters: features10.weight, classifier.weight, classifier.bias',
    );
    expect(e.details?.uncovered).toEqual(['features10.weight', 'classifier.weight', 'classifier.bias']);
  });

  it('refuses tied tensors on different devices, naming both names and devices', () => {
    const e = thrown(() =>
      resolveDeviceMap({ emb: 'cuda:0', head: 'cpu' }, ['emb.weight', 'head.weight', 'head.bias'], {
        tiedGroups: [['emb.weight', 'head.weight']],
      }),
    );
    expect(e.code).toBe('DEVICE_MAP_TIED_SPLIT');
    expect(e.message).toContain('"emb.weight" on cuda:0');
    expect(e.message).toContain('"head.weight" on cpu');
    expect(e.details?.devices).toEqual({ 'emb.weight': 'cuda:0', 'head.weight': 'cpu' });
  });

  it('treats cuda and cuda:0 as one device for ties (accelerate check_device_same)', () => {
    const { placement } = resolveDeviceMap({ emb: 'cuda', head: 'cuda:0' }, ['emb.weight', 'head.weight'], {
      tiedGroups: [['emb.weight', 'head.weight']],
    });
    expect(placement.size).toBe(2);
  });

  it('rejects a value that is not a device, naming the key', () => {
    const e = thrown(() => resolveDeviceMap({ features: 'gpu:0' }, names));
    expect(e.code).toBe('DEVICE_MAP_INVALID');
    expect(e.message).toContain('"features"');
  });

  it('cuts and escapes names from files in messages', () => {
    const evil = `a\n${'x'.repeat(100)}.weight`;
    const e = thrown(() => resolveDeviceMap({ b: 'cpu' }, [evil]));
    expect(e.message).not.toContain('\n');
    expect(e.message.length).toBeLessThanOrEqual(512);
    expect(e.details?.uncovered).toEqual([evil]);
  });
});

describe('coveringKey', () => {
  it('walks up dotted prefixes to the root key', () => {
    const keys = new Set(['', 'a', 'a.b']);
    expect(coveringKey(keys, 'a.b.c')).toBe('a.b');
    expect(coveringKey(keys, 'a.bc')).toBe('a');
    expect(coveringKey(keys, 'z')).toBe('');
    expect(coveringKey(new Set(['a']), 'z.y')).toBeUndefined();
  });
});

import { createHash } from 'node:crypto';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { DeviceRuntime } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWithDeviceMap } from './load.js';
import { APP_MODEL, appBatch, appBytes, fixture } from '../testing/fixtures.js';
import { twoBackendRuntime } from '../testing/runtime.js';

let runtime: DeviceRuntime;
beforeAll(async () => {
  runtime = await twoBackendRuntime();
});

describe('loadWithDeviceMap', () => {
  it('places each storage straight on its module device: bytes placed once, none moved', async () => {
    runtime.ledger.reset();
    const { module, placement, storages, report } = await loadWithDeviceMap(
      APP_MODEL,
      { features: 'cuda:0', classifier: 'cpu' },
      { runtime },
    );
    const features = appBytes('features'); // (72 + 8 + 1152 + 16) × 4 = 4992
    const classifier = appBytes('classifier'); // (512 + 32 + 64 + 2) × 4 = 2440
    expect([features, classifier]).toEqual([4992, 2440]);
    const ledger = runtime.ledger.snapshot();
    expect(ledger.bytesMoved).toBe(0);
    expect(ledger.copies).toBe(0);
    expect(ledger.devices['cuda:0']).toMatchObject({ bytes: features, peak: features, tensors: 4 });
    expect(ledger.devices['cpu']).toMatchObject({ bytes: classifier, peak: classifier, tensors: 4 });
    expect(report.bytesRead).toBe(features + classifier);
    expect(placement.get('features.3.weight')).toBe('cuda:0');
    expect(storages.get('4')).toBe('cpu'); // classifier.0.weight's storage key in batch.json
    for (const t of appBatch().tensors) {
      const name = String(t.path[0]);
      const tensor = module.get(name) as Tensor;
      expect(String(runtime.deviceOf(tensor))).toBe(name.startsWith('features') ? 'cuda:0' : 'cpu');
      expect(tensor.shape).toEqual(t.shape);
      const data = tensor.dataSync() as Float32Array;
      expect(
        createHash('sha256')
          .update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
          .digest('hex'),
      ).toBe(t.sha256);
    }
    for (const { tensor } of module.namedTensors()) runtime.dispose(tensor);
  });

  it('refuses a map that splits the views of one storage, before reading anything', async () => {
    // cuda-mixed.pt: 'a' and 'a_view' share storage 0.
    await expect(
      loadWithDeviceMap(fixture('zip/cuda-mixed.pt'), { a: 'cpu', a_view: 'cuda:0', '': 'cpu' }, { runtime }),
    ).rejects.toMatchObject({
      code: 'STORAGE_SPLIT',
      details: { key: '0', tensors: ['a', 'a_view'], devices: ['cpu', 'cuda:0'] },
    });
    const { module, storages } = await loadWithDeviceMap(
      fixture('zip/cuda-mixed.pt'),
      { a: 'cuda:0', a_view: 'cuda:0', '': 'cpu' },
      { runtime },
    );
    expect(Object.fromEntries(storages)).toEqual({ '0': 'cuda:0', '1': 'cpu', '2': 'cpu' });
    expect(module.devices(runtime)).toEqual(['cuda:0', 'cpu']);
  });

  it("uses accelerate's coverage rule", async () => {
    await expect(loadWithDeviceMap(APP_MODEL, { features: 'cpu' }, { runtime })).rejects.toMatchObject({
      code: 'DEVICE_MAP_UNCOVERED',
    });
  });

  it('fails on a device without a backend', async () => {
    await expect(loadWithDeviceMap(APP_MODEL, { '': 'cuda:1' }, { runtime })).rejects.toMatchObject({
      code: 'DEVICE_UNAVAILABLE',
    });
  });
});

import { readFileSync } from 'node:fs';
import { createDeviceRuntime, type DeviceRuntime } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareStrategies } from './compare-strategies.js';
import { formatLedgers } from './cli/format-table.js';
import { APP_MODEL, appBatch, appBytes, fixture } from './testing/fixtures.js';
import { twoBackendRuntime } from './testing/runtime.js';

/** torch 1.13's own message for this file on a CPU-only machine (manifest `torch_error`). */
const TORCH_ERROR = (
  JSON.parse(readFileSync(fixture('manifest.json'), 'utf8')) as { fixtures: { file: string; torch_error?: string }[] }
).fixtures.find((f) => f.file === 'zip/cuda0.pt')?.torch_error as string;

const total = appBytes(); // 1858 float32 elements × 4 = 7432 bytes
const tensors = appBatch().tensors.length; // 8

let gpu: DeviceRuntime; // cuda:0 stands in on the wasm backend
let cpuOnly: DeviceRuntime;
beforeAll(async () => {
  gpu = await twoBackendRuntime();
  cpuOnly = await createDeviceRuntime({ cuda: false });
});

describe('compareStrategies', () => {
  it('with the saved device present, load-then-to moves every tensor byte once more than mapLocation', async () => {
    expect([total, tensors]).toEqual([7432, 8]);
    const [direct, twoStep, mapped] = await compareStrategies(APP_MODEL, 'cpu', {
      runtime: gpu,
      deviceMap: { features: 'cuda:0', classifier: 'cpu' },
    });
    expect(direct).toMatchObject({
      strategy: 'map-location',
      ok: true,
      bytesRead: total,
      bytesMoved: 0,
      copies: 0,
      peak: { cpu: total },
      final: { cpu: total },
    });
    expect(twoStep).toMatchObject({
      strategy: 'load-then-to',
      ok: true,
      bytesRead: total,
      bytesMoved: total,
      copies: tensors,
      peak: { 'cuda:0': total, cpu: total },
      final: { 'cuda:0': 0, cpu: total },
    });
    expect(twoStep!.bytesMoved - direct!.bytesMoved).toBe(total);
    expect(mapped).toMatchObject({
      strategy: 'device-map',
      ok: true,
      bytesRead: total,
      bytesMoved: 0,
      copies: 0,
      peak: { 'cuda:0': appBytes('features'), cpu: appBytes('classifier') },
    });
    for (const r of [direct, twoStep, mapped]) expect(r!.wallMs).toBeGreaterThanOrEqual(0);
    // Everything was disposed after each strategy.
    expect(Object.values(gpu.ledger.snapshot().devices).every((u) => u.bytes === 0 || u.tensors === 0)).toBe(true);
  });

  it("without the saved device, load-then-to fails with DEVICE_UNAVAILABLE and torch's message", async () => {
    const [direct, twoStep] = await compareStrategies(APP_MODEL, 'cpu', { runtime: cpuOnly });
    expect(direct).toMatchObject({ ok: true, bytesRead: total, bytesMoved: 0, peak: { cpu: total } });
    expect(twoStep).toMatchObject({
      strategy: 'load-then-to',
      ok: false,
      bytesRead: 0,
      bytesMoved: 0,
      copies: 0,
      peak: {},
    });
    const error = (twoStep as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('DEVICE_UNAVAILABLE');
    expect(error.message.startsWith(TORCH_ERROR)).toBe(true);
    const table = formatLedgers([direct!, twoStep!]);
    expect(table).toContain('failed: DEVICE_UNAVAILABLE');
    expect(table).toContain(TORCH_ERROR);
  });
});

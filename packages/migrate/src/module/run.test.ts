import type { Tensor } from '@tensorflow/tfjs-core';
import type { DeviceRuntime, Placed } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMigrateError } from '../errors.js';
import { Module } from './module.js';
import { assertSameDevice, callOn } from './run.js';
import { f32, twoBackendRuntime } from '../testing/runtime.js';

let runtime: DeviceRuntime;
beforeAll(async () => {
  runtime = await twoBackendRuntime();
});

describe('assertSameDevice', () => {
  it("uses torch's text, first device then the first different one", () => {
    const meta = runtime.place(new Float32Array(4), [2, 2], 'float32', 'meta');
    const cpu = f32(runtime, [1, 2, 3, 4], 'cpu', [2, 2]);
    // torch 1.13: torch.mm(torch.ones(2,2,device='meta'), torch.ones(2,2))
    expect(() => assertSameDevice([meta, cpu], runtime)).toThrow(
      'Expected all tensors to be on the same device, but found at least two devices, meta and cpu!',
    );
    const gpu = f32(runtime, [1], 'cuda');
    try {
      assertSameDevice([cpu, cpu, gpu], runtime);
      expect.unreachable();
    } catch (e) {
      expect(isMigrateError(e) && e.code).toBe('DEVICE_MISMATCH');
      expect((e as Error).message).toBe(
        'Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0!',
      );
    }
    expect(assertSameDevice([cpu, cpu], runtime)).toBe('cpu');
    expect(assertSameDevice([], runtime)).toBeUndefined();
  });
});

describe('callOn', () => {
  /** Linear 3 -> 2 on cuda:0 (wasm): weight [[1, 0, 1], [0, 2, 0]]. */
  function linear(): Module {
    return new Module('Linear').registerParameter('weight', f32(runtime, [1, 0, 1, 0, 2, 0], 'cuda', [2, 3]));
  }

  it("runs on the module's backend with inputs moved there, and returns results to the caller's device", async () => {
    const fc = linear();
    const x = f32(runtime, [1, 2, 3], 'cpu', [1, 3]);
    await runtime.tf.setBackend('cpu');
    runtime.ledger.reset();
    let backend = '';
    const y = (await callOn(
      fc,
      x,
      (input, m) => {
        backend = runtime.tf.getBackend();
        expect(runtime.deviceOf(input).toString()).toBe('cuda:0');
        return runtime.tf.matMul(input as Tensor, m.get('weight') as Tensor, false, true);
      },
      runtime,
    )) as Tensor;
    expect(backend).toBe('wasm');
    expect(runtime.tf.getBackend()).toBe('cpu');
    expect(runtime.deviceOf(y).toString()).toBe('cpu');
    // [1, 2, 3] · [1, 0, 1] = 4; [1, 2, 3] · [0, 2, 0] = 4
    expect(Array.from(y.dataSync())).toEqual([1 + 3, 2 * 2]);
    const snap = runtime.ledger.snapshot();
    // x (12 B) to cuda:0, y (8 B) back to cpu; the temporary copy of x is disposed again
    expect(snap.copies).toBe(2);
    expect(snap.bytesMoved).toBe(12 + 8);
    expect(snap.devices['cuda:0']).toMatchObject({ bytes: 0, peak: 12 });
    expect((x as Tensor).isDisposed).toBe(false);
  });

  it('moves tensors inside arrays and objects, once per tensor', async () => {
    const fc = linear();
    const x = f32(runtime, [1, 1, 1], 'cpu', [1, 3]);
    runtime.ledger.reset();
    const out = await callOn(
      fc,
      { a: x, b: [x] },
      (inputs) => {
        expect(inputs.a).toBe(inputs.b[0]);
        return { sum: runtime.tf.add(inputs.a as Tensor, inputs.b[0] as Tensor) };
      },
      runtime,
    );
    expect(runtime.deviceOf(out.sum).toString()).toBe('cpu');
    expect(Array.from((out.sum as Tensor).dataSync())).toEqual([2, 2, 2]);
    expect(runtime.ledger.snapshot().copies).toBe(2);
  });

  it("strict: moves nothing and raises torch's error for an input elsewhere", async () => {
    const fc = linear();
    const x = f32(runtime, [1, 2, 3], 'cpu', [1, 3]);
    await expect(callOn(fc, x, () => 0, runtime, { strict: true })).rejects.toThrow(
      'Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!',
    );
    const onGpu = f32(runtime, [1, 2, 3], 'cuda', [1, 3]);
    const y = (await callOn(
      fc,
      onGpu,
      (input, m) => runtime.tf.matMul(input as Tensor, m.get('weight') as Tensor, false, true),
      runtime,
      {
        strict: true,
      },
    )) as Tensor;
    expect(runtime.deviceOf(y).toString()).toBe('cuda:0');
  });

  it('refuses a module spread over two devices and a module on meta', async () => {
    const spread = new Module()
      .registerParameter('a', f32(runtime, [1], 'cpu'))
      .registerParameter('b', f32(runtime, [1], 'cuda'));
    await expect(callOn(spread, [], () => 0, runtime)).rejects.toThrow('found at least two devices, cpu and cuda:0!');
    const meta = new Module().registerParameter(
      'a',
      runtime.place(new Float32Array(1), [1], 'float32', 'meta') as Placed,
    );
    await expect(callOn(meta, [], () => 0, runtime)).rejects.toMatchObject({ code: 'DEVICE_NOT_RUNNABLE' });
  });
});

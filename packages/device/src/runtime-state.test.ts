import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs an ES module in a fresh Node (fresh TF.js engine) and returns what it printed as JSON. */
function fresh(code: string): unknown {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: import.meta.dirname,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('createDeviceRuntime leaves the application its TF.js state', () => {
  it('an app that imported tfjs-core and the cpu backend keeps cpu as its default backend (wasm registered above it is not picked)', () => {
    const r = fresh(`
      import * as tf from '@tensorflow/tfjs-core';
      import '@tensorflow/tfjs-backend-cpu';
      import { createDeviceRuntime } from '@x/device';
      const rt = await createDeviceRuntime({ cuda: false });
      const t = tf.add(tf.tensor([1, 2, 3]), 1);
      console.log(JSON.stringify({ backend: tf.getBackend(), values: [...t.dataSync()], wasm: rt.isAvailable('wasm'), registered: tf.engine().backendNames().includes('wasm') }));
    `);
    expect(r).toEqual({ backend: 'cpu', values: [2, 3, 4], wasm: true, registered: true });
  });

  it('an app whose cpu backend is already active keeps it', () => {
    const r = fresh(`
      import * as tf from '@tensorflow/tfjs-core';
      import '@tensorflow/tfjs-backend-cpu';
      import { createDeviceRuntime } from '@x/device';
      tf.tensor([1]).dispose();
      await createDeviceRuntime({ cuda: false });
      console.log(JSON.stringify({ backend: tf.getBackend(), sum: tf.sum(tf.tensor([1, 2])).dataSync()[0] }));
    `);
    expect(r).toEqual({ backend: 'cpu', sum: 3 });
  });

  it("devices: ['cpu'] does not import the wasm backend; prepare() loads it when a call needs it", () => {
    const r = fresh(`
      import * as tf from '@tensorflow/tfjs-core';
      import { createDeviceRuntime } from '@x/device';
      const rt = await createDeviceRuntime({ cuda: false, devices: ['cpu'] });
      const registeredAtStart = tf.engine().backendNames();
      const available = rt.isAvailable('wasm');
      let before;
      try { rt.place(new Float32Array([1]), [1], 'float32', 'wasm'); } catch (e) { before = [e.code, /prepare/.test(e.message)]; }
      await rt.prepare(['wasm']);
      const t = rt.place(new Float32Array([5, 6]), [2], 'float32', 'wasm');
      console.log(JSON.stringify({ registeredAtStart, available, before, device: String(rt.deviceOf(t)), values: [...t.dataSync()], appBackend: tf.getBackend() }));
    `);
    expect(r).toEqual({
      registeredAtStart: ['cpu'],
      available: true,
      before: ['DEVICE_UNAVAILABLE', true],
      device: 'wasm:0',
      values: [5, 6],
      appBackend: 'cpu',
    });
  });
});

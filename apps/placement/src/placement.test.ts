import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDeviceRuntime, type DeviceRuntime } from '@x/device';
import { coveringKey } from '@x/migrate';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHECKPOINT, runPlacement } from './placement.js';
import { escapeHtml } from './report-html.js';

/** The CNN's tensors as torch recorded them (gpu-to-cpu's batch.json): name and float32 bytes. */
const tensors = (
  JSON.parse(readFileSync(join(DEFAULT_CHECKPOINT, '..', 'batch.json'), 'utf8')) as {
    tensors: { path: string[]; shape: number[] }[];
  }
).tensors.map((t) => ({ name: t.path[0] as string, bytes: t.shape.reduce((a, b) => a * b, 1) * 4 }));
const total = tensors.reduce((n, t) => n + t.bytes, 0);

/** Bytes a device map puts on each device (as the runtime names it: `wasm` is `wasm:0`): each tensor to its longest covering key. */
function bytesPerDevice(map: Record<string, string>): Record<string, number> {
  const keys = new Set(Object.keys(map));
  const out: Record<string, number> = {};
  for (const t of tensors) {
    const d = String(runtime.check(map[coveringKey(keys, t.name) as string] as string));
    out[d] = (out[d] ?? 0) + t.bytes;
  }
  return out;
}

/** `strategy/device -> bytes` of every bar of the chart. */
function bars(html: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of html.matchAll(
    /<rect class="bar" data-strategy="([^"]+)" data-device="([^"]+)" data-bytes="(\d+)"/g,
  )) {
    const key = `${m[1]}/${m[2]}`;
    expect(out.has(key)).toBe(false);
    out.set(key, Number(m[3]));
  }
  return out;
}

let runtime: DeviceRuntime;
beforeAll(async () => {
  runtime = await createDeviceRuntime({ cuda: false });
});

describe('placement report', () => {
  it('plans a split, measures every strategy and draws one bar per strategy × device with its peak bytes', async () => {
    const log: string[] = [];
    const { deviceMap, results, html } = await runPlacement({
      checkpoint: DEFAULT_CHECKPOINT,
      runtime,
      target: 'cpu',
      maxMemory: { wasm: 7400, cpu: '1GiB' },
      log: (t) => log.push(t),
    });
    const split = bytesPerDevice(deviceMap);
    expect(Object.keys(split).sort()).toEqual(['cpu', 'wasm:0']);
    expect(split['cpu']! + split['wasm:0']!).toBe(total);

    expect(results.map((r) => r.strategy)).toEqual(['map-location', 'load-then-to', 'device-map']);
    const expected = new Map([
      ['map-location/cpu', total],
      ['map-location/wasm:0', 0],
      ['load-then-to/cpu', 0], // fails: the file's cuda:0 is absent here
      ['load-then-to/wasm:0', 0],
      ['device-map/cpu', split['cpu']],
      ['device-map/wasm:0', split['wasm:0']],
    ]);
    expect(bars(html)).toEqual(expected);
    expect(html).toContain('load-then-to (failed: DEVICE_UNAVAILABLE)');
    expect(log.join('\n')).toMatch(/^module\s+device\s+bytes$/m);
    expect(log.join('\n')).toContain('failed: DEVICE_UNAVAILABLE');
  });

  it('uses an explicit map when given and escapes text', async () => {
    const { html, results } = await runPlacement({
      checkpoint: DEFAULT_CHECKPOINT,
      runtime,
      target: 'wasm',
      deviceMap: { features: 'cpu', classifier: 'wasm' },
      maxMemory: {},
      log: () => undefined,
    });
    expect(results[0]!.peak).toEqual({ 'wasm:0': total });
    expect(bars(html).get('device-map/wasm:0')).toBe(bytesPerDevice({ features: 'cpu', classifier: 'wasm' })['wasm:0']);
    expect(escapeHtml(`<b a="1">&'`)).toBe('&lt;b a=&quot;1&quot;&gt;&amp;&#39;');
  });
});

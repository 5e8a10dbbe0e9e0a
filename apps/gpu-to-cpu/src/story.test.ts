import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDeviceRuntime } from '@x/device';
import { beforeAll, describe, expect, it } from 'vitest';
import { ASSETS, MODEL_PATH, readBatch, type Batch } from './batch.js';
import { argmaxRows, maxAbsDiff } from './cnn.js';
import { runStory, type StoryResult } from './story.js';

/** torch 1.13's message for a cuda:0-tagged file on a CPU-only machine (fixture manifest `torch_error`). */
const TORCH_ERROR = (
  JSON.parse(readFileSync(join(ASSETS, '../../../packages/checkpoint/test/fixtures/manifest.json'), 'utf8')) as {
    fixtures: { file: string; torch_error?: string }[];
  }
).fixtures.find((f) => f.file === 'zip/cuda0.pt')?.torch_error as string;

let batch: Batch;
let result: StoryResult;
const lines: string[] = [];

/** Bytes of the tensors under `prefix` by arithmetic on the shapes torch recorded: numel × 4 (float32). */
function bytes(prefix = ''): number {
  const { tensors } = JSON.parse(readFileSync(join(ASSETS, 'batch.json'), 'utf8')) as {
    tensors: { path: string[]; shape: number[] }[];
  };
  return tensors
    .filter((t) => (t.path[0] as string).startsWith(prefix))
    .reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * 4, 0);
}

beforeAll(async () => {
  batch = await readBatch();
  const runtime = await createDeviceRuntime({ cuda: false });
  const standIn = await createDeviceRuntime({ bindings: { cuda: 'wasm' }, cuda: false });
  result = await runStory({
    modelPath: MODEL_PATH,
    batch,
    runtime,
    standIn,
    splitMap: { features: 'wasm', classifier: 'cpu' },
    log: (l) => lines.push(l),
  });
});

describe('the gpu-to-cpu story', () => {
  it("(a) and (b) fail with DEVICE_UNAVAILABLE and torch's own message", () => {
    for (const outcome of [result.withoutMapLocation, result.loadThenTo]) {
      expect(outcome).toMatchObject({ ok: false, code: 'DEVICE_UNAVAILABLE' });
      expect((outcome as { message: string }).message.startsWith(TORCH_ERROR)).toBe(true);
    }
    expect(lines.filter((l) => l.startsWith(`    DEVICE_UNAVAILABLE: ${TORCH_ERROR}`))).toHaveLength(2);
  });

  it("(c) with mapLocation 'cpu' the CNN reproduces PyTorch's logits within 1e-4", () => {
    expect(result.cpu.logits).toHaveLength(batch.logits.length);
    expect(maxAbsDiff(result.cpu.logits, batch.logits)).toBeLessThanOrEqual(1e-4);
    expect(result.cpu.predictions).toEqual(argmaxRows(batch.logits, 2));
    expect(result.cpu.devices).toEqual({ features: 'cpu', classifier: 'cpu' });
  });

  it('(d) split over wasm and cpu, the same predictions and logits within 1e-4', () => {
    expect(result.split.devices).toEqual({ features: 'wasm:0', classifier: 'cpu' });
    expect(maxAbsDiff(result.split.logits, batch.logits)).toBeLessThanOrEqual(1e-4);
    expect(result.split.predictions).toEqual(result.cpu.predictions);
  });

  it('(e) ledgers: exact bytes by arithmetic on the shapes torch recorded', () => {
    const total = bytes(); // 1858 float32 elements = 7432 bytes
    const features = bytes('features');
    const classifier = bytes('classifier');
    expect([total, features, classifier]).toEqual([7432, 4992, 2440]);
    const [direct, twoStep, split] = result.ledgers.machine;
    expect(direct).toMatchObject({ ok: true, bytesRead: total, bytesMoved: 0, copies: 0, peak: { cpu: total } });
    expect(twoStep).toMatchObject({ ok: false, bytesRead: 0, bytesMoved: 0, error: { code: 'DEVICE_UNAVAILABLE' } });
    expect(split).toMatchObject({
      ok: true,
      bytesRead: total,
      bytesMoved: 0,
      copies: 0,
      peak: { 'wasm:0': features, cpu: classifier },
    });

    const [gDirect, gTwoStep, gSplit] = result.ledgers.standIn;
    expect(gDirect).toMatchObject({ ok: true, bytesRead: total, bytesMoved: 0, copies: 0, peak: { cpu: total } });
    // Every byte lands on cuda:0 first, then each of the 8 tensors is copied to cpu once.
    expect(gTwoStep).toMatchObject({
      ok: true,
      bytesRead: total,
      bytesMoved: total,
      copies: 8,
      peak: { 'cuda:0': total, cpu: total },
      final: { 'cuda:0': 0, cpu: total },
    });
    expect(gSplit).toMatchObject({ ok: true, bytesMoved: 0, peak: { 'cuda:0': features, cpu: classifier } });
    expect(lines.some((l) => l.includes(`moved ${total} bytes more than mapLocation: 'cpu'`))).toBe(true);
  });
});

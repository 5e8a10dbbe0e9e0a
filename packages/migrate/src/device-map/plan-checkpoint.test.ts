import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeSizing, planCheckpoint } from './plan-checkpoint.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../checkpoint/test/fixtures/zip/${name}`, import.meta.url));
const maxMemory = { cpu: '1MiB' };

describe('planCheckpoint', () => {
  it('ties names that view one storage with the same offset, shape and strides, and no other views', async () => {
    // views.pt (torch 1.13): base = arange(24); same_object is base again; shared_view = base.view(4, 6),
    // slice/transposed/step_slice view the same storage differently; the rest have storages of their own.
    const { entries, plan } = await planCheckpoint(fixture('views.pt'), { maxMemory, sizing: 'torch' });
    expect(entries.filter((e) => e.tiedTo !== undefined)).toEqual([{ name: 'same_object', bytes: 0, tiedTo: 'base' }]);
    const bytes = Object.fromEntries(entries.map((e) => [e.name, e.bytes]));
    expect(bytes).toMatchObject({ base: 96, shared_view: 96, slice: 12, transposed: 48, step_slice: 32 });
    expect(plan.modelBytes).toBe(entries.reduce((s, e) => s + e.bytes, 0));
  });

  it('sizes tensors as TF.js holds them by default and says so; torch sizing counts the file dtypes', async () => {
    const tfjs = await planCheckpoint(fixture('dtypes.pt'), { maxMemory });
    expect(tfjs.sizing).toBe('tfjs');
    const half = tfjs.resized.filter((r) => r.dtype === 'float16' || r.dtype === 'bfloat16');
    // 2 × 3 elements each: 2 bytes in the file, float32 (4 bytes) in TF.js
    expect(half).toEqual([
      { name: 'float16', dtype: 'float16', fileBytes: 12, plannedBytes: 24 },
      { name: 'bfloat16', dtype: 'bfloat16', fileBytes: 12, plannedBytes: 24 },
    ]);
    expect(describeSizing(tfjs)).toContain('float16 ×1 planned at 24 B (file 12 B)');
    const torch = await planCheckpoint(fixture('dtypes.pt'), { maxMemory, sizing: 'torch' });
    expect(torch.resized).toEqual([]);
    expect(torch.plan.modelBytes).toBe(torch.entries.reduce((s, e) => s + e.bytes, 0));
    expect(tfjs.plan.modelBytes - torch.plan.modelBytes).toBe(
      tfjs.resized.reduce((s, r) => s + r.plannedBytes - r.fileBytes, 0),
    );
    expect(describeSizing(torch)).toContain('--sizing torch');
  });

  it('plans in the given definition order and adds tensors the file lacks', async () => {
    const { entries } = await planCheckpoint(fixture('parameters.pt'), {
      maxMemory,
      order: ['frozen_param', 'params.1', 'extra.buf'],
      extraTensors: [{ name: 'extra.buf', bytes: 8, buffer: true }],
    });
    expect(entries.map((e) => e.name)).toEqual(['frozen_param', 'params.1', 'extra.buf', 'params.0', 'grad_tensor']);
    await expect(
      planCheckpoint(fixture('parameters.pt'), { maxMemory, extraTensors: [{ name: 'params.0', bytes: 1 }] }),
    ).rejects.toMatchObject({
      code: 'DEVICE_MAP_INVALID',
      message: expect.stringContaining('"params.0" is listed twice') as unknown,
    });
    await expect(
      planCheckpoint(fixture('parameters.pt'), { maxMemory, sizing: 'fp8' as 'tfjs' }),
    ).rejects.toMatchObject({
      code: 'DEVICE_MAP_INVALID',
      message: expect.stringContaining("sizing must be 'tfjs' or 'torch'") as unknown,
    });
  });
});

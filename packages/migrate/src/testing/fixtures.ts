/**
 * Test support (not built): paths of the committed torch 1.13 fixtures, the bundled app model,
 * and a way to run real PyTorch (`/usr/bin/python3`), which CI requires.
 *
 * @module
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A fixture of `packages/checkpoint/test/fixtures`. */
export function fixture(name: string): string {
  return join(here, '../../../checkpoint/test/fixtures', name);
}

/** The gpu-to-cpu app's CNN (every storage tagged `cuda:0`). */
export const APP_MODEL = join(here, '../../../../apps/gpu-to-cpu/assets/model.pt');

/** The interpreter with torch 1.13 (not the `python3` on PATH). */
export const PYTHON = '/usr/bin/python3';

/** Whether `/usr/bin/python3` can import torch. */
export const torchAvailable: boolean = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** In CI torch tests never skip: they run, and fail when torch is missing. */
export const runTorchTests: boolean = torchAvailable || process.env['CI'] !== undefined;

/** Runs a Python script with `args`; returns stdout, throws with stderr when it fails. */
export function runPython(script: string, args: readonly string[] = []): string {
  const r = spawnSync(PYTHON, ['-', ...args], { input: script, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${String(r.status)}): ${r.stderr}`);
  return r.stdout;
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'x-migrate-'));
}

/** A tensor entry of a fixture manifest or of the app's `batch.json`, written by real torch. */
export interface FixtureTensor {
  path: (string | number)[];
  dtype: string;
  shape: number[];
  location: string;
  sha256: string;
  storage: { key: string; numel: number };
}

/** The app's `batch.json`: the CNN's tensors as torch saved them, its input and torch's logits. */
export function appBatch(): { tensors: FixtureTensor[]; input: number[]; input_shape: number[]; logits: number[] } {
  return JSON.parse(readFileSync(join(here, '../../../../apps/gpu-to-cpu/assets/batch.json'), 'utf8')) as ReturnType<
    typeof appBatch
  >;
}

/** float32 bytes of the app tensors whose name starts with `prefix` (all with `''`): numel × 4. */
export function appBytes(prefix = ''): number {
  return appBatch()
    .tensors.filter((t) => String(t.path[0]).startsWith(prefix))
    .reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * 4, 0);
}

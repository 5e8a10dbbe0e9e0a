/**
 * Test-only: runs one hostile case through every public entry that parses a file — `open`,
 * `load`, `inspect` and `Checkpoint.tensor()` — with the baseline assertion of
 * {@link expectRejects}, and opens accepted cases for their tests to check.
 *
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createDeviceRuntime, type DeviceRuntime } from '@x/device';
import type { HostileCase } from '@x-tools/test-utils';
import { expect } from 'vitest';
import { inspect } from '../inspect.js';
import { load, type LoadResult } from '../load.js';
import { open, type Checkpoint, type LoadOptions } from '../open.js';
import { expectRejects } from './expect-rejects.js';

let runtime: Promise<DeviceRuntime> | undefined;

/** One CPU-only runtime for every security test (no CUDA, so nothing is placed by accident). */
export function securityRuntime(): Promise<DeviceRuntime> {
  runtime ??= createDeviceRuntime({ cuda: false });
  return runtime;
}

/** The load options of a case: its own options, everything mapped to `cpu`, the shared runtime. */
export async function caseOptions(c: HostileCase): Promise<LoadOptions> {
  return { ...c.options, mapLocation: 'cpu', runtime: await securityRuntime() };
}

/**
 * Asserts the case's rejection through every entry: parse-stage cases through `open`, `load` and
 * `inspect`; load-stage cases open fine, then `load`, `tensor()` of every entry and (except for
 * dtype-mode failures, which `inspect` does not convert) `inspect` reject; `tensor()` rejects for
 * every entry that touches the hostile part and for at least one. A failed `load` leaves no TF.js
 * tensor behind.
 */
export async function expectCaseRejects(c: HostileCase): Promise<void> {
  if (c.code === undefined) throw new Error(`${c.name} is an accepted case`);
  const options = await caseOptions(c);
  const expectation = {
    code: c.code,
    inputBytes: c.bytes.length,
    details: c.details,
    offset: c.offset,
    secret: c.secret,
  };
  const tensors = tf.engine().state.numTensors;
  if (c.stage === 'load') {
    const ckpt = await open(c.bytes, options);
    const names = ckpt.names;
    await ckpt.close();
    await expectRejects(() => load(c.bytes, options), expectation);
    let refused = 0;
    for (const name of names) {
      const each = await open(c.bytes, options);
      try {
        // a tensor whose storage is intact may load; one that touches the hostile part must fail exactly
        const made = await each.tensor(name).catch(() => undefined);
        if (made === undefined) {
          await expectRejects(() => each.tensor(name), expectation);
          refused++;
        } else if (made instanceof tf.Tensor) made.dispose();
      } finally {
        await each.close();
      }
    }
    expect(refused, 'tensor() of at least one entry fails').toBeGreaterThan(0);
    if (c.options?.dtype !== 'strict') await expectRejects(() => inspect(c.bytes, options), expectation);
  } else {
    await expectRejects(() => open(c.bytes, options), expectation);
    await expectRejects(() => load(c.bytes, options), expectation);
    await expectRejects(() => inspect(c.bytes, options), expectation);
  }
  expect(tf.engine().state.numTensors).toBe(tensors);
}

/** Opens an accepted case (it must not fail). */
export async function openAccepted(c: HostileCase): Promise<Checkpoint> {
  expect(c.code, `${c.name} is expected to fail`).toBeUndefined();
  return open(c.bytes, await caseOptions(c));
}

/** Loads an accepted case (it must not fail). */
export async function loadAccepted<T = unknown>(c: HostileCase): Promise<LoadResult<T>> {
  expect(c.code, `${c.name} is expected to fail`).toBeUndefined();
  return load<T>(c.bytes, await caseOptions(c));
}

/** The case of `vector` named `name` in `cases`. */
export function caseNamed(cases: readonly HostileCase[], vector: number, name: string): HostileCase {
  const found = cases.find((c) => c.vector === vector && c.name === name);
  if (found === undefined) throw new Error(`no case ${vector} ${name}`);
  return found;
}

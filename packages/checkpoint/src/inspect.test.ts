import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isCheckpointError } from './errors.js';
import { MANIFEST as manifest } from './testing/manifest.js';
import { inspect, sha256Hex } from './node.js';

const fixtures = new URL('../test/fixtures/', import.meta.url);

/** A manifest path step as our paths write it: tuple dict keys as their Python repr. */
function step(p: unknown): string | number {
  if (typeof p === 'object' && p !== null && '$tuple' in p) {
    const items = (p as { $tuple: unknown[] }).$tuple.map((x) =>
      typeof x === 'string' ? JSON.stringify(x) : String(x),
    );
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  return p as string | number;
}

describe('inspect matches the manifest sha256 of every tensor of every fixture (real torch 1.13 and 2.13)', () => {
  for (const fx of manifest.fixtures) {
    it(fx.file, async () => {
      const path = fileURLToPath(new URL(fx.file, fixtures));
      if (fx.error !== undefined) {
        const e = await inspect(path).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isCheckpointError(e) ? e.code : e).toBe(fx.error.code);
        return;
      }
      const result = await inspect(path, { unknownClasses: 'record' });
      expect(result.format).toBe(fx.format);
      const ours = new Map(result.tensors.map((t) => [JSON.stringify(t.path), t]));
      expect(result.tensors.length).toBe(fx.tensors.length);
      for (const expected of fx.tensors) {
        const key = JSON.stringify(expected.path.map(step));
        const t = ours.get(key);
        expect(t, `tensor ${key}`).toBeDefined();
        expect({ key, dtype: t!.dtype, shape: t!.shape, location: t!.location, sha256: t!.sha256 }).toEqual({
          key,
          dtype: expected.dtype,
          shape: expected.shape,
          location: expected.location,
          sha256: expected.sha256,
        });
      }
    });
  }
});

describe('sha256Hex', () => {
  it('is the FIPS 180-2 digest of "abc"', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

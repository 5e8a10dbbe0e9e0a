import { mkdtempSync, openSync, closeSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMmap } from '../index.js';

const { binding, reason } = loadMmap();
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const dir = mkdtempSync(join(tmpdir(), 'x-mmap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(binding !== undefined || process.env.CI !== undefined)('@x/mmap', () => {
  it('loads (CI builds it)', () => {
    expect(reason).toBeUndefined();
  });

  it('maps a range at an unaligned offset; writes stay private; closing the fd keeps the mapping', () => {
    const path = join(dir, 'bytes');
    const bytes = Uint8Array.from({ length: 3 * 4096 + 100 }, (_, i) => (i * 7) % 251);
    writeFileSync(path, bytes);
    const fd = openSync(path, 'r');
    const offset = 4096 + 13;
    const buffer = binding.map(fd, offset, 5000);
    closeSync(fd);
    const skip = offset % binding.pageSize();
    expect(buffer.byteLength).toBe(skip + 5000);
    const view = new Uint8Array(buffer, skip, 5000);
    expect(view).toEqual(bytes.subarray(offset, offset + 5000));
    view[0] = view[0] ^ 0xff;
    const again = openSync(path, 'r');
    const fresh = new Uint8Array(binding.map(again, offset, 1), skip, 1);
    closeSync(again);
    expect(fresh[0]).toBe(bytes[offset]);
  });

  it('unmaps when the last view is collected', async () => {
    const path = join(dir, 'big');
    writeFileSync(path, new Uint8Array(1 << 20).fill(9));
    await collect(); // earlier tests' mappings
    const before = binding.mappedBytes();
    expect(mapAndRead(path)).toBe(9);
    await collect();
    expect(binding.mappedBytes()).toBe(before);
  });

  /** Full collections until finalizers have run. */
  async function collect() {
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Maps `path`, checks the count grew, reads one byte and drops the mapping. */
  function mapAndRead(path) {
    const before = binding.mappedBytes();
    const fd = openSync(path, 'r');
    const view = new Uint8Array(binding.map(fd, 0, 1 << 20)).subarray(10, 20);
    closeSync(fd);
    expect(binding.mappedBytes()).toBe(before + (1 << 20));
    return view[5];
  }

  it('rejects bad arguments and failed maps with errors', () => {
    expect(() => binding.map(-1, 0, 1)).toThrow(/length > 0|integers/);
    expect(() => binding.map(1_000_000, 0, 10)).toThrow();
  });
});

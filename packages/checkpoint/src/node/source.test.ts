import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromFile } from './source.js';
import { expectCode } from '../testing/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'x-src-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fromFile', () => {
  it('reads positional ranges and closes', async () => {
    const path = join(dir, 'small.bin');
    writeFileSync(
      path,
      Uint8Array.from({ length: 50 }, (_, i) => i),
    );
    const src = await fromFile(path);
    expect([src.size, src.name]).toEqual([50, path]);
    expect(await src.read(47, 3)).toEqual(Uint8Array.from([47, 48, 49]));
    await expectCode(src.read(49, 2), 'INPUT_TRUNCATED');
    await src.close();
    await expectCode(src.read(0, 1), 'SOURCE_IO');
  });

  it('reads beyond 2 GiB and 4 GiB in a sparse file', async () => {
    const path = join(dir, 'sparse.bin');
    const size = 5 * 2 ** 30;
    truncateSync((writeFileSync(path, ''), path), size);
    const h = await open(path, 'r+');
    await h.write(Uint8Array.from([1, 2, 3]), 0, 3, size - 3);
    await h.close();
    const src = await fromFile(path);
    expect(src.size).toBe(size);
    expect(await src.read(size - 3, 3)).toEqual(Uint8Array.from([1, 2, 3]));
    await src.close();
  });

  it('a file truncated while open fails with INPUT_TRUNCATED; a missing file with SOURCE_IO', async () => {
    const path = join(dir, 'shrinks.bin');
    writeFileSync(path, new Uint8Array(100));
    const src = await fromFile(path);
    truncateSync(path, 10);
    await expectCode(src.read(50, 10), 'INPUT_TRUNCATED');
    await src.close();
    await expectCode(fromFile(join(dir, 'missing.bin')), 'SOURCE_IO');
  });
});

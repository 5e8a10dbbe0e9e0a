import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, type Packed } from './pack.js';
import { publishedPackages, repoRoot } from './repo-copy.js';
import { run, stopRunning } from './run.js';
import { sizeBudgets } from './size-budgets.js';

const bin = (name: string): string => join(repoRoot, 'node_modules', '.bin', name);

let work: string;
const packed = new Map<string, Packed>();
/** publint and attw of each tarball, started together in beforeAll (attw takes seconds each). */
const linted = new Map<string, { publint: Promise<unknown>; attw: Promise<unknown> }>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'x-tarballs-'));
  const results = await Promise.all(publishedPackages.map((dir) => pack(join(repoRoot, dir), work)));
  for (const [i, dir] of publishedPackages.entries()) {
    const { tarball } = results[i]!;
    packed.set(dir, results[i]!);
    const lint = {
      publint: run(bin('publint'), ['run', tarball, '--strict'], { cwd: work }),
      attw: run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color'], {
        cwd: work,
      }),
    };
    // Awaited in the tests below; the handlers keep an early failure from being reported as unhandled.
    lint.publint.catch(() => undefined);
    lint.attw.catch(() => undefined);
    linted.set(dir, lint);
  }
});

afterAll(async () => {
  stopRunning();
  if (work !== undefined) await rm(work, { recursive: true, force: true, maxRetries: 5 });
});

describe.each(publishedPackages)('tarball of %s', (dir) => {
  const get = (): Packed => packed.get(dir)!;

  it('packs without npm warnings', () => {
    expect(get().warnings).toEqual([]);
  });

  it('ships LICENSE (the root one) and README.md', async () => {
    const { root } = get();
    expect(await readFile(join(root, 'LICENSE'), 'utf8')).toBe(await readFile(join(repoRoot, 'LICENSE'), 'utf8'));
    expect(await readFile(join(root, 'README.md'), 'utf8')).toBe(
      await readFile(join(repoRoot, dir, 'README.md'), 'utf8'),
    );
  });

  it('holds only what a user needs: JS and declarations built from current sources, bins, docs, files listed by name', async () => {
    const { files } = JSON.parse(await readFile(join(repoRoot, dir, 'package.json'), 'utf8')) as { files: string[] };
    const unexpected = get()
      .files.map((f) => f.path)
      .filter((path) => {
        if (['package.json', 'README.md', 'LICENSE', ...files].includes(path)) return false;
        if (/^bin\/[\w-]+\.js$/.test(path)) return false;
        const built = /^dist\/(.+)\.(js|d\.ts)$/.exec(path);
        if (built === null || /(^|\/)(test-[^/]*|[^/]*\.(test|bench))$/.test(built[1]!)) return true;
        return !existsSync(join(repoRoot, dir, 'src', `${built[1]}.ts`));
      });
    expect(unexpected).toEqual([]);
  });

  it('has bins npm keeps as written: normalised paths to executable node scripts in the tarball', async () => {
    const { root, files } = get();
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
    for (const [name, path] of Object.entries(manifest.bin ?? {})) {
      expect(path, name).toMatch(/^bin\/[\w-]+\.js$/);
      expect(files.find((f) => f.path === path)?.mode, path).toBe(0o755);
      expect((await readFile(join(root, path), 'utf8')).startsWith('#!/usr/bin/env node\n'), path).toBe(true);
    }
  });

  it('stays within its size budget', () => {
    const { name, size, unpackedSize } = get();
    const budget = sizeBudgets[name];
    expect(budget, `no budget for ${name} in size-budgets.ts`).toBeDefined();
    expect({ name, packed: size, unpacked: unpackedSize }).toSatisfy(
      () => size <= budget!.packed && unpackedSize <= budget!.unpacked,
      `${name}: ${size} B packed (budget ${budget!.packed}), ${unpackedSize} B unpacked (budget ${budget!.unpacked})`,
    );
  });

  it('passes publint --strict', async () => {
    await linted.get(dir)!.publint;
  });

  it('passes arethetypeswrong (esm-only profile: node10 and require-from-CJS typings are out of scope)', async () => {
    await linted.get(dir)!.attw;
  });
});

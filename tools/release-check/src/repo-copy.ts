/**
 * A throwaway copy of the monorepo to run the release path in, so versioning and publishing never
 * touch the real checkout's package.json files, lockfile or changesets.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root (this file lives in tools/release-check/src). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The publishable workspace folders, relative to the root. */
export const publishedPackages = [
  'packages/device',
  'packages/checkpoint',
  'packages/migrate',
  'packages/mmap',
] as const;

/** Unpublished workspaces the packages' builds depend on (turbo builds them first). */
const buildDependencies = ['tools/test-utils'];

/** node_modules scopes whose entries are links to workspace folders. */
const workspaceScopes = new Set(['@x', '@x-tools']);

const skipped = new Set(['node_modules', '.turbo', 'test-results.json']);

/**
 * Copies into `dest` what the release path reads: the root manifests, lockfile, turbo and
 * changesets configuration, the shared tsconfig, the publishable packages and their build
 * dependencies (sources, built `dist` and build info with their timestamps, so `tsc -b` has little
 * to redo) and every other workspace's package.json (so the lockfile still matches). `node_modules` links to the real
 * one's packages: the copy builds with the same tools without installing anything.
 */
export async function copyRepo(dest: string): Promise<void> {
  for (const file of ['package.json', 'package-lock.json', 'turbo.json', 'LICENSE', '.changeset', 'tools/tsconfig']) {
    await cp(join(repoRoot, file), join(dest, file), { recursive: true, preserveTimestamps: true });
  }
  for (const dir of [...publishedPackages, ...buildDependencies]) {
    await cp(join(repoRoot, dir), join(dest, dir), {
      recursive: true,
      preserveTimestamps: true,
      filter: (source) =>
        !relative(join(repoRoot, dir), source)
          .split(sep)
          .some((part) => skipped.has(part)),
    });
  }
  for (const root of ['apps', 'tools']) {
    for (const name of await readdir(join(repoRoot, root))) {
      const manifest = join(root, name, 'package.json');
      if (existsSync(join(repoRoot, manifest)))
        await cp(join(repoRoot, manifest), join(dest, manifest), { force: false });
    }
  }
  await linkNodeModules(dest);
}

/**
 * `dest/node_modules` as a real folder of links: each installed package links to the real
 * checkout's, while the workspace scopes (`@x`, `@x-tools`) link to the copy's own folders, as npm
 * would link them. npm's hidden lockfile and tool caches (dot entries other than `.bin`) are left
 * out, so nothing run in the copy writes into the real checkout's node_modules.
 */
async function linkNodeModules(dest: string): Promise<void> {
  const real = join(repoRoot, 'node_modules');
  const own = join(dest, 'node_modules');
  await mkdir(own);
  for (const entry of await readdir(real)) {
    if (entry.startsWith('.') && entry !== '.bin') continue;
    if (!workspaceScopes.has(entry)) {
      await symlink(join(real, entry), join(own, entry));
      continue;
    }
    await mkdir(join(own, entry));
    for (const name of await readdir(join(real, entry))) {
      const target = await readlink(join(real, entry, name));
      if (existsSync(join(dest, 'node_modules', entry, target))) await symlink(target, join(own, entry, name));
    }
  }
}

/** Writes a changeset file into the copy at `dest`, as `npx changeset` would. */
export async function addChangeset(
  dest: string,
  name: string,
  bumps: Record<string, 'patch' | 'minor' | 'major'>,
  summary: string,
): Promise<void> {
  const front = Object.entries(bumps).map(([pkg, bump]) => `'${pkg}': ${bump}`);
  await writeFile(join(dest, '.changeset', `${name}.md`), `---\n${front.join('\n')}\n---\n\n${summary}\n`);
}

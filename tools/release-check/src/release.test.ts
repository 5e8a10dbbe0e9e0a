import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConsumer, isTfjsTypingIssue, parseDiagnostics } from './consumer.js';
import { startRegistry, type LocalRegistry } from './registry.js';
import { addChangeset, copyRepo, publishedPackages, repoRoot } from './repo-copy.js';
import { cleanNpmEnv, run, runScript, stopRunning, type RunResult } from './run.js';

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly bin?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
}

interface LockFile {
  readonly packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

/** The version a `minor` changeset gives: x.y.z → x.(y+1).0. */
function minorBump(version: string): string {
  const [major, minor] = version.split('.').map(Number);
  return `${major}.${minor! + 1}.0`;
}

const fixture = join(repoRoot, 'packages/checkpoint/test/fixtures/zip/cuda0.pt');

let work: string;
let registry: LocalRegistry | undefined;
let repo: string;
let consumer: string;
let before: Manifest[];
let version: string;
let release: RunResult;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'x-release-'));
  registry = await startRegistry(join(work, 'registry'));
  repo = join(work, 'repo');
  consumer = join(work, 'consumer');
  before = await Promise.all(publishedPackages.map((dir) => readJson<Manifest>(join(repoRoot, dir, 'package.json'))));
  version = minorBump(before.find((m) => m.name === '@x/migrate')!.version);

  await copyRepo(repo);
  await addChangeset(
    repo,
    'release-check',
    { '@x/migrate': 'minor' },
    'Release check: a minor release of the fixed group.',
  );
  // Versioning resolves against the npm registry the machine is configured for, as for a maintainer.
  await run('npm', ['run', 'version-packages'], { cwd: repo, env: cleanNpmEnv() });
  // Publishing can only reach the local registry: the project .npmrc, the environment and the
  // scope all name it, and the token is for it alone.
  const url = registry.url;
  await writeFile(
    join(repo, '.npmrc'),
    `registry=${url}\n@x:registry=${url}\n//${url.slice('http://'.length)}:_authToken=release-check\n`,
  );
  const env = cleanNpmEnv({ npm_config_registry: url, 'npm_config_@x:registry': url, TURBO_TELEMETRY_DISABLED: '1' });
  release = await runScript(repo, 'release', env);
  await installConsumer(consumer, url, version);
});

afterAll(async () => {
  stopRunning();
  await registry?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true, maxRetries: 5 });
});

describe('npm run version-packages (in a copy of the repo)', () => {
  it('bumps the fixed group together, pins internal dependencies and writes changelogs', async () => {
    for (const dir of publishedPackages) {
      const manifest = await readJson<Manifest>(join(repo, dir, 'package.json'));
      expect(manifest.version, dir).toBe(version);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        if (dep.startsWith('@x/')) expect(range, `${dir} → ${dep}`).toBe(version);
      }
      expect(await readFile(join(repo, dir, 'CHANGELOG.md'), 'utf8')).toContain(`## ${version}`);
    }
    expect(existsSync(join(repo, '.changeset', 'release-check.md'))).toBe(false);
  });

  it('updates package-lock.json to the new versions', async () => {
    const lock = await readJson<LockFile>(join(repo, 'package-lock.json'));
    for (const dir of publishedPackages) {
      expect(lock.packages[dir]?.version, dir).toBe(version);
      for (const [dep, range] of Object.entries(lock.packages[dir]?.dependencies ?? {})) {
        if (dep.startsWith('@x/')) expect(range, `${dir} → ${dep}`).toBe(version);
      }
    }
  });

  it('leaves the real checkout alone', async () => {
    const after = await Promise.all(
      publishedPackages.map((dir) => readJson<Manifest>(join(repoRoot, dir, 'package.json'))),
    );
    expect(after.map((m) => m.version)).toEqual(before.map((m) => m.version));
  });
});

describe('npm run release (to the local registry)', () => {
  it('publishes all three packages at the new version, bins as written, and creates no git tags', async () => {
    for (const manifest of before) {
      const response = await fetch(new URL(encodeURIComponent(manifest.name), registry!.url));
      const packument = (await response.json()) as { versions: Record<string, Manifest> };
      const published = packument.versions[version];
      expect(published?.version, manifest.name).toBe(version);
      expect(published?.bin ?? {}).toEqual(manifest.bin ?? {});
    }
    expect(release.stdout + release.stderr).not.toMatch(/New tag|auto-corrected|invalid and removed/);
  });
});

describe('a user project that installs @x/migrate from the registry', () => {
  it('gets @x/checkpoint and @x/device at the same version, and no @types/node', async () => {
    for (const dir of publishedPackages) {
      const name = `@x/${dir.split('/')[1]}`;
      expect((await readJson<Manifest>(join(consumer, 'node_modules', name, 'package.json'))).version, name).toBe(
        version,
      );
    }
    expect(existsSync(join(consumer, 'node_modules/@types/node'))).toBe(false);
  });

  const manifestTensors = async (): Promise<unknown[]> => {
    const manifest = await readJson<{
      fixtures: { file: string; tensors: { path: string[]; shape: number[]; sha256: string; location: string }[] }[];
    }>(join(repoRoot, 'packages/checkpoint/test/fixtures/manifest.json'));
    const entry = manifest.fixtures.find((f) => f.file === 'zip/cuda0.pt')!;
    expect(entry.tensors.every((t) => t.location === 'cuda:0')).toBe(true);
    return entry.tensors.map((t) => ({ name: t.path.join('.'), device: 'cpu', shape: t.shape, sha256: t.sha256 }));
  };

  it.concurrent.each(['esm.mjs', 'cjs.cjs'])(
    '%s loads a CUDA-saved checkpoint with mapLocation cpu: the bytes torch saved',
    async (script) => {
      const { stdout } = await run('node', [script, fixture], { cwd: consumer });
      expect(JSON.parse(stdout)).toEqual(await manifestTensors());
    },
  );

  it.concurrent('type-checks a strict nodenext consumer against the published declarations (skipLibCheck false)', async () => {
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const output = await run('node', [tsc, '-p', '.', '--listFiles'], { cwd: consumer }).then(
      (r) => r.stdout,
      (error: Error) => error.message,
    );
    for (const entry of [
      '@x/device/dist/index.d.ts',
      '@x/checkpoint/dist/node.d.ts',
      '@x/checkpoint/dist/node/save.d.ts',
      '@x/migrate/dist/index.d.ts',
    ]) {
      expect(output, `${entry} was checked`).toContain(join(consumer, 'node_modules', entry));
    }
    const ours = parseDiagnostics(output).filter((d) => !isTfjsTypingIssue(d));
    expect(ours.map((d) => d.text)).toEqual([]);
  });

  it.concurrent.each(['x-checkpoint', 'x-migrate'])('npx %s --help runs', async (name) => {
    const { stdout } = await run('npx', [name, '--help'], { cwd: consumer, env: cleanNpmEnv() });
    expect(stdout).toMatch(new RegExp(`^usage: ${name} COMMAND`));
  });
});

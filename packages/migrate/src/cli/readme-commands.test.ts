/**
 * Every `x-checkpoint` / `x-migrate` command line shown in the root, checkpoint and migrate
 * READMEs, run as a person runs it: a spawned shell in a scratch directory, the bins found on PATH
 * where `npm ci` linked them (`node_modules/.bin`), fixture files under the READMEs' names.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APP_MODEL, fixture, runPython, runTorchTests, tempDir } from '../testing/fixtures.js';

/** Spawned processes (and torch's import) on a busy 2-core machine: generous, as a person would wait. */
const SPAWNED = 120_000;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const BIN = join(ROOT, 'node_modules/.bin');
const READMES = ['README.md', 'packages/checkpoint/README.md', 'packages/migrate/README.md'];

/** The command lines of a README's code blocks, comments cut, `npx ` dropped (the bins are on PATH). */
function readmeCommands(readme: string): string[] {
  let inCode = false;
  const code = readFileSync(join(ROOT, readme), 'utf8')
    .split('\n')
    .filter((l) => {
      if (l.startsWith('```')) inCode = !inCode;
      return inCode && !l.startsWith('```');
    });
  return code
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => /^(npx )?x-(checkpoint|migrate) /.test(l))
    .map((l) => l.replace(/^npx /, ''));
}

/** A line with `[optional]` parts as two runs: without them, and with all of them. */
function variants(line: string): string[] {
  if (!line.includes('[')) return [line];
  const without = line.replace(/\s*\[[^\]]*\]/g, '');
  const withAll = line.replace(/\[([^\]]*)\]/g, '$1');
  return [without, withAll];
}

/** A scratch directory holding the files the READMEs name. */
function scratch(): string {
  const dir = tempDir();
  const files: Record<string, string> = {
    'model.pt': APP_MODEL, // the app's CNN (features, classifier), saved with cuda tags
    'gpu.pt': fixture('zip/cuda0.pt'), // saved on cuda:0
    IN: fixture('zip/cuda-mixed.pt'),
    FILE: APP_MODEL,
    'a.pt': fixture('zip/linear.pt'),
    'b.pt': fixture('zip/linear.pt'),
  };
  for (const [name, from] of Object.entries(files)) copyFileSync(from, join(dir, name));
  return dir;
}

function sh(line: string, cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sh', ['-c', line], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${BIN}:${process.env['PATH'] ?? ''}` },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lines = READMES.flatMap((r) => readmeCommands(r).flatMap((l) => variants(l).map((v) => [r, v] as const)));

describe('every CLI command of the READMEs, spawned', () => {
  it('npm ci linked both bins', () => {
    for (const bin of ['x-checkpoint', 'x-migrate']) expect(existsSync(join(BIN, bin)), bin).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(14);
  });

  const dir = scratch();
  // b.safetensors is a.pt written by the CLI itself, so `diff a.pt b.safetensors` compares across formats
  it.each(lines)(
    '%s: %s',
    (_readme, line) => {
      if (line.includes('b.safetensors') && !existsSync(join(dir, 'b.safetensors')))
        expect(sh('x-checkpoint convert a.pt b.safetensors', dir).status).toBe(0);
      const before = new Set(readdirSync(dir));
      const r = sh(line, dir);
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' }); // no progress, banner or warning when piped
      expect(r.stdout.trim()).not.toBe('');
      if (line.includes('--json')) expect(() => JSON.parse(r.stdout)).not.toThrow();
      const written = line.match(/^x-\w+ (?:convert|relocate) \S+ (\S+)/)?.[1];
      if (written !== undefined) {
        expect(statSync(join(dir, written)).size).toBeGreaterThan(0);
        expect(r.stdout).toContain(`wrote ${written}`);
      }
      expect([...readdirSync(dir)].filter((f) => !before.has(f) && f !== written)).toEqual([]); // no temp files left
    },
    SPAWNED,
  );
});

describe.runIf(runTorchTests)('what the CLIs write for a CPU-only machine, read by torch 1.13', () => {
  it(
    'convert --map-location cpu and relocate --map-location cpu of a CUDA-saved file: plain torch.load works',
    () => {
      const dir = scratch();
      expect(sh('x-checkpoint convert gpu.pt converted.pt --map-location cpu', dir).status).toBe(0);
      expect(sh('x-migrate relocate gpu.pt relocated.pt --map-location cpu', dir).status).toBe(0);
      const out = runPython(
        `import sys, torch
assert not torch.cuda.is_available()
src = torch.load(sys.argv[1], map_location='cpu')
for path in sys.argv[2:]:
    sd = torch.load(path)  # no map_location
    assert set(sd) == set(src), path
    for k, t in sd.items():
        assert t.device.type == 'cpu' and torch.equal(t, src[k]), (path, k)
print('ok')`,
        ['gpu.pt', 'converted.pt', 'relocated.pt'].map((f) => join(dir, f)),
      );
      expect(out.trim()).toBe('ok');
      const plain = runPython(
        `import sys, torch\ntry:\n    torch.load(sys.argv[1])\nexcept RuntimeError as e:\n    print('refused')`,
        [join(dir, 'gpu.pt')],
      );
      expect(plain.trim()).toBe('refused'); // the input itself needs a map_location on this machine
    },
    SPAWNED,
  );
});

describe('errors, spawned', () => {
  it(
    'one line, exit 2, the same x-<tool>: CODE: message shape from both bins',
    () => {
      const dir = scratch();
      for (const [line, pattern] of [
        [
          'x-checkpoint load gpu.pt',
          /^x-checkpoint: DEVICE_UNAVAILABLE: .* Fix: rerun with --map-location cpu, or --map-location cuda:\d=cpu to remap this location only\.$/,
        ],
        [
          'x-checkpoint load gpu.pt --map-location gpu',
          /^x-checkpoint: DEVICE_INVALID: --map-location: "gpu" is not a device/,
        ],
        [
          'x-migrate relocate gpu.pt out.pt --map-location cuda:x=cpu',
          /^x-migrate: DEVICE_INVALID: --map-location: "cuda:x" is not a device/,
        ],
        ['x-migrate plan', /^x-migrate: USAGE: expected one FILE, found 0 arguments \(see x-migrate --help\)$/],
        ['x-checkpoint frob', /^x-checkpoint: USAGE: unknown command "frob"/],
      ] as const) {
        const r = sh(line, dir);
        expect(r.status, line).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr.trimEnd().split('\n'), line).toHaveLength(1);
        expect(r.stderr.trimEnd()).toMatch(pattern);
      }
      expect(existsSync(join(dir, 'out.pt'))).toBe(false);
    },
    SPAWNED,
  );

  it(
    'diff exits 1 when the files differ; --version and --help exit 0',
    () => {
      const dir = scratch();
      const d = sh('x-checkpoint diff a.pt model.pt', dir);
      expect([d.status, d.stderr]).toEqual([1, '']);
      for (const bin of ['x-checkpoint', 'x-migrate']) {
        const pkg = JSON.parse(readFileSync(join(ROOT, `packages/${bin.slice(2)}/package.json`), 'utf8')) as {
          version: string;
        };
        expect(sh(`${bin} --version`, dir)).toEqual({ status: 0, stdout: `${pkg.version}\n`, stderr: '' });
        const help = sh(`${bin} --help`, dir);
        expect(help.status).toBe(0);
        expect(help.stdout).toMatch(/^exit status: 0 success; 1 a finding .*; 2 a usage or input error/m);
      }
    },
    SPAWNED,
  );
});

/**
 * `x-migrate relocate` on hostile inputs (a malicious `__reduce__` in zip,
 * protocol-4 zip and legacy files): refused with `PICKLE_UNSAFE_GLOBAL` naming the global, by the
 * API and the CLI alike; no output file is ever written and the input is never touched.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCheckpointError } from '@x/checkpoint';
import { legacyFile, reducerPickle, reportedGlobal, strList } from '@x-tools/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run.js';
import { relocateCheckpoint } from './relocate-file.js';

const FIXTURES = fileURLToPath(new URL('../../../checkpoint/test/fixtures/', import.meta.url));
const MANIFEST = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  fixtures: { file: string; error?: { global: string } }[];
};
const HOSTILE = MANIFEST.fixtures.filter((f) => f.error !== undefined);
const dir = mkdtempSync(join(tmpdir(), 'x-migrate-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Relocates `input` through the API and the CLI; both must refuse with the global named and write nothing. */
async function expectRefused(input: string, global: string): Promise<void> {
  const before = { hash: sha(input), mtime: statSync(input).mtimeMs };
  const output = join(dir, 'relocated.pt');
  const error = await relocateCheckpoint(input, output, 'cpu').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCheckpointError(error) && error.code).toBe('PICKLE_UNSAFE_GLOBAL');
  expect((error as Error).message).toContain(`"${global}"`);
  const stderr: string[] = [];
  expect(
    await runCli(['relocate', input, output, '--map-location', 'cpu'], {
      stdout: () => undefined,
      stderr: (t) => stderr.push(t),
    }),
  ).toBe(2);
  expect(stderr.join('')).toContain(`PICKLE_UNSAFE_GLOBAL: unsupported global: "${global}"`);
  expect(stderr.join('')).not.toMatch(/\n\s+at /);
  expect(existsSync(output)).toBe(false);
  expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  expect({ hash: sha(input), mtime: statSync(input).mtimeMs }).toEqual(before);
}

describe('relocate refuses hostile checkpoints', () => {
  it('the hostile fixtures are there (zip, protocol-4 zip, legacy)', () => {
    expect(HOSTILE.map((f) => f.file).sort()).toEqual([
      'hostile/system-legacy.pt',
      'hostile/system-zip-protocol4.pt',
      'hostile/system-zip.pt',
    ]);
  });

  for (const fx of HOSTILE) {
    it(`${fx.file}: refused, nothing written, input untouched`, async () => {
      const input = join(dir, fx.file.replaceAll('/', '_'));
      copyFileSync(join(FIXTURES, fx.file), input);
      await expectRefused(input, fx.error!.global);
    });
  }

  for (const [module, name] of [
    ['os', 'system'],
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['subprocess', 'Popen'],
    ['runpy', '_run_code'],
  ] as const) {
    it(`legacy file reducing to ${module}.${name}: refused, nothing written`, async () => {
      const input = join(dir, `legacy-${module}-${name}.pt`);
      writeFileSync(input, legacyFile({ main: reducerPickle(module, name, 2).bytes, keys: strList([]), storages: [] }));
      await expectRefused(input, reportedGlobal(module, name));
    });
  }
});

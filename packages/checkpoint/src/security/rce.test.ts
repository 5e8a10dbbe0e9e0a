/**
 * Malicious `__reduce__` payloads (os.system and friends) in zip, protocol-4 zip and legacy files
 * are refused with `PICKLE_UNSAFE_GLOBAL` naming the global — by `load`, `open`, `inspect`, the
 * `x-checkpoint` CLI (`x-migrate relocate` has the same test in packages/migrate). The fixtures under test/fixtures/hostile were pickled by CPython
 * (manifest.json names the global); more are built here with the reducer builder.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { legacyFile, reducerPickle, reportedGlobal, strList, type HostileCase } from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { inspect, load, open } from '../node.js';
import { expectCleanMessage, expectRejects } from '../testing/expect-rejects.js';
import { expectCaseRejects } from '../testing/run-case.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const MANIFEST = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as {
  fixtures: { file: string; error?: { code: string; global: string } }[];
};
const HOSTILE = MANIFEST.fixtures.filter((f) => f.error !== undefined);

describe('hostile fixtures pickled by CPython', () => {
  it('there are zip, protocol-4 zip and legacy fixtures', () => {
    expect(HOSTILE.map((f) => f.file).sort()).toEqual([
      'hostile/system-legacy.pt',
      'hostile/system-zip-protocol4.pt',
      'hostile/system-zip.pt',
    ]);
  });

  for (const fx of HOSTILE) {
    const expected = { code: 'PICKLE_UNSAFE_GLOBAL', details: { global: fx.error!.global }, secret: 'echo pwned' };
    const path = join(FIXTURES, fx.file);
    const inputBytes = statSync(path).size;

    it(`${fx.file}: load, open and inspect refuse ${fx.error!.global}, also with unknown classes recorded`, async () => {
      for (const unknownClasses of ['error', 'record'] as const) {
        const options = { unknownClasses, mapLocation: 'cpu' } as const;
        for (const run of [() => load(path, options), () => open(path, options), () => inspect(path, options)]) {
          const e = await expectRejects(run, { ...expected, inputBytes });
          expect(e.message).toContain('"posix.system"');
        }
      }
    });

    it(`${fx.file}: x-checkpoint inspect / load exit 2 with the code on stderr and no stack trace`, async () => {
      for (const args of [
        ['inspect', path],
        ['load', path, '--map-location', 'cpu'],
        ['inspect', path, '--unknown-classes', 'record'],
      ]) {
        const out: string[] = [];
        const err: string[] = [];
        expect(await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) })).toBe(2);
        expect(out).toEqual([]);
        expect(err).toHaveLength(1);
        expect(err[0]).toMatch(/^x-checkpoint: PICKLE_UNSAFE_GLOBAL: unsupported global: "posix\.system"/);
        expect(err[0]).not.toMatch(/\n\s+at /);
        expectCleanMessage(err[0]!, 'echo pwned');
      }
      const err: string[] = [];
      expect(await main(['inspect', path, '--json'], { out: () => undefined, err: (t) => err.push(t) })).toBe(2);
      expect(JSON.parse(err[0]!)).toMatchObject({ error: { code: 'PICKLE_UNSAFE_GLOBAL' } });
    });
  }

  it('the built x-checkpoint binary exits 2 with one line on stderr (spawned)', async () => {
    const cli = fileURLToPath(new URL('../../bin/x-checkpoint.js', import.meta.url));
    expect(existsSync(cli), 'build @x/checkpoint first (npx tsc -b)').toBe(true);
    const run = promisify(execFile);
    const failure = await run(process.execPath, [cli, 'inspect', join(FIXTURES, 'hostile/system-zip.pt')]).then(
      () => expect.fail('x-checkpoint inspect succeeded on a hostile file'),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(failure.code).toBe(2);
    expect(failure.stdout).toBe('');
    expect(failure.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(failure.stderr).toMatch(/^x-checkpoint: PICKLE_UNSAFE_GLOBAL: /);
  });
});

/** Legacy files whose object pickle reduces to `module.name` (protocol 2), as torch 1.13 would frame them. */
function legacyReducer(module: string, name: string): HostileCase {
  const bytes = legacyFile({ main: reducerPickle(module, name, 2).bytes, keys: strList([]), storages: [] });
  return {
    vector: 55,
    name: `legacy ${module}.${name}`,
    bytes,
    code: 'PICKLE_UNSAFE_GLOBAL',
    details: { global: reportedGlobal(module, name) },
    secret: 'echo pwned',
  };
}

describe('built reducers in legacy files (zip protocols 0, 2, 4 are vector 55 in vectors.test.ts)', () => {
  const cases = [
    legacyReducer('os', 'system'),
    legacyReducer('posix', 'system'),
    legacyReducer('builtins', 'eval'),
    legacyReducer('builtins', 'exec'),
    legacyReducer('subprocess', 'Popen'),
    legacyReducer('runpy', '_run_code'),
  ];
  for (const c of cases) {
    it(`${c.name}: refused by load, open, inspect`, () => expectCaseRejects(c));
  }
});

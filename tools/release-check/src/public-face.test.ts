import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  checkFace,
  entryExports,
  importedNames,
  namesInMarkdownCode,
  namesUsedIn,
  packageProgram,
  readOptions,
  sourceFiles,
  type ExportedName,
} from './public-face.js';
import { repoRoot } from './repo-copy.js';

/** The main entries of each published package with an API, and the specifiers that reach them. */
const faces = [
  { dir: 'packages/device', specifiers: ['@x/device'], entries: ['src/index.ts'] },
  {
    dir: 'packages/checkpoint',
    specifiers: ['@x/checkpoint', '@x/checkpoint/browser'],
    entries: ['src/node.ts', 'src/index.ts'],
  },
  { dir: 'packages/migrate', specifiers: ['@x/migrate'], entries: ['src/index.ts'] },
] as const;

/** A program over files held in memory, for examples built to fail. */
function memoryProgram(files: Readonly<Record<string, string>>, entry: string): ts.Program {
  const host = ts.createCompilerHost(readOptions);
  host.getSourceFile = (name, language) =>
    files[name] === undefined ? undefined : ts.createSourceFile(name, files[name], language);
  host.fileExists = (name) => files[name] !== undefined;
  host.readFile = (name) => files[name];
  host.directoryExists = (name) => Object.keys(files).some((file) => file.startsWith(`${name}/`));
  host.getCurrentDirectory = () => '/';
  return packageProgram([entry], host);
}

const byName = (names: readonly ExportedName[]): Record<string, boolean> =>
  Object.fromEntries(names.map((n) => [n.name, n.documented]));

describe('the public-face checker', () => {
  const files = {
    '/pkg/package.json': '{ "name": "@x/pkg", "type": "module" }',
    '/pkg/src/index.ts': [
      '/** Documented; imported by a consumer. */',
      'export function used(): void {}',
      'export function bare(): void {}',
      '/** Documented; named in the README only. */',
      'export const named = 1;',
      '/** Documented; nobody uses it. */',
      'export interface Lonely { readonly a: number }',
      "export { renamed as alias } from './other.js';",
      "export * from './star.js';",
    ].join('\n'),
    '/pkg/src/other.ts': '/** Documented where it is declared. */\nexport function renamed(): void {}\n',
    '/pkg/src/star.ts': 'export type Hidden = string;\n/** Documented. */\nexport class Shown {}\n',
  };
  const exported = entryExports(memoryProgram(files, '/pkg/src/index.ts'), '/pkg/src/index.ts');

  it('reads every export of an entry, through re-exports and `export *`, with its documentation', () => {
    expect(byName(exported)).toEqual({
      used: true,
      bare: false,
      named: true,
      Lonely: true,
      alias: true,
      Hidden: false,
      Shown: true,
    });
  });

  it('reports an undocumented export and one nobody uses or names, and accepts the rest', () => {
    const consumer = "import { used, alias, type Shown } from '@x/pkg';\nimport { bare } from '@x/pkg/internal';\n";
    const used = importedNames('app.ts', consumer, new Set(['@x/pkg']));
    const named = namesInMarkdownCode(
      '# pkg\n\nThe `named` constant; a Lonely and Hidden word in prose is no mention.\n\n```ts\nconst h: Hidden = "";\n```\n',
    );
    expect(checkFace(exported, used, named)).toEqual([
      { name: 'bare', problem: 'undocumented' },
      { name: 'bare', problem: 'unused' },
      { name: 'Lonely', problem: 'unused' },
      { name: 'Hidden', problem: 'undocumented' },
    ]);
  });

  it('sees every way a source takes names from a package, and only from the packages asked for', () => {
    const code = [
      "import { a, b as bee, type C } from '@x/pkg';",
      "import * as ns from '@x/pkg';",
      'ns.d(ns.e);',
      "export { f } from '@x/pkg';",
      "const { g, h: aitch } = await import('@x/pkg');",
      "const { i } = require('@x/pkg');",
      "import { notOurs } from '@x/other';",
      "const { alsoNot } = await import('./local.js');",
      'other.z();',
    ].join('\n');
    expect([...importedNames('x.mts', code, new Set(['@x/pkg']))].sort()).toEqual([
      'C',
      'a',
      'b',
      'd',
      'e',
      'f',
      'g',
      'h',
      'i',
    ]);
  });
});

const readme = (path: string): Set<string> => namesInMarkdownCode(readFileSync(join(repoRoot, path), 'utf8'));
const everySource = ['packages', 'apps', 'tools'].flatMap((dir) => sourceFiles(join(repoRoot, dir)));

describe.each(faces)('the main entries of $dir', ({ dir, specifiers, entries }) => {
  it('export only names that are documented and used outside the package or named in code in its README or the root README', () => {
    const paths = entries.map((entry) => join(repoRoot, dir, entry));
    const program = packageProgram(paths);
    const exported = [
      ...new Map(paths.flatMap((path) => entryExports(program, path)).map((e) => [e.name, e])).values(),
    ];
    const outside = everySource.filter((file) => !file.startsWith(join(repoRoot, dir, '/')));
    const used = namesUsedIn(outside, new Set(specifiers));
    const named = new Set([...readme(join(dir, 'README.md')), ...readme('README.md')]);
    expect(exported.length).toBeGreaterThan(0);
    expect(checkFace(exported, used, named)).toEqual([]);
  });
});

describe('@x/checkpoint/internal', () => {
  it('holds no name of the main entries: each name has one home', () => {
    const dir = join(repoRoot, 'packages/checkpoint/src');
    const program = packageProgram([join(dir, 'node.ts'), join(dir, 'internal.ts')]);
    const main = new Set(entryExports(program, join(dir, 'node.ts')).map((e) => e.name));
    const internal = entryExports(program, join(dir, 'internal.ts'));
    expect(internal.length).toBeGreaterThan(0);
    expect(internal.filter((e) => main.has(e.name)).map((e) => e.name)).toEqual([]);
  });
});

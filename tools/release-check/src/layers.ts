/**
 * The layering of the packages' sources, checked from their import statements: which folder of a
 * package may import which, and which package may import which.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';

/** One import of one file: the specifier as written and the line it is on. */
export interface ImportSite {
  readonly file: string;
  readonly specifier: string;
  readonly line: number;
}

/** A package's layers: each layer names the layers it may import (itself always allowed). */
export interface PackageLayers {
  /** Repository-relative folder of the package, e.g. `packages/checkpoint`. */
  readonly dir: string;
  /** Layer of a `src`-relative file path (posix separators), or `undefined` for files not checked. */
  readonly layerOf: (file: string) => string | undefined;
  /** Layer name → the other layers it may import. */
  readonly mayImport: Readonly<Record<string, readonly string[]>>;
  /** Workspace packages this package may import (`@x/device`, …). */
  readonly packages: readonly string[];
}

/** A broken rule: where, what was imported, and why it is not allowed. */
export interface LayerViolation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly problem: string;
}

/** Every import (static, re-export, type-only, dynamic `import()`) of a TypeScript file's text. */
export function importsOf(file: string, text: string): ImportSite[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
  return ts.preProcessFile(text, true, true).importedFiles.map((ref) => ({
    file,
    specifier: ref.fileName,
    line: source.getLineAndCharacterOfPosition(ref.pos).line + 1,
  }));
}

/** The layer violations among `imports` of files of one package (`file` is relative to its `src`). */
export function checkLayers(rules: PackageLayers, imports: readonly ImportSite[]): LayerViolation[] {
  const problems: LayerViolation[] = [];
  for (const site of imports) {
    const from = rules.layerOf(site.file);
    if (from === undefined) continue;
    const report = (problem: string) =>
      problems.push({ file: site.file, line: site.line, specifier: site.specifier, problem });
    if (site.specifier.startsWith('.')) {
      const target = normalize(join(dirname(site.file), site.specifier))
        .split(sep)
        .join('/')
        .replace(/\.js$/, '.ts');
      if (target.startsWith('..')) {
        report('reaches outside its package’s src');
        continue;
      }
      const to = rules.layerOf(target);
      if (to === undefined) report(`imports ${target}, which is in no production layer`);
      else if (to !== from && !(rules.mayImport[from] ?? []).includes(to))
        report(`layer ${from} may not import layer ${to}`);
    } else if (site.specifier.startsWith('@x/')) {
      const name = site.specifier.split('/').slice(0, 2).join('/');
      if (!rules.packages.includes(name)) report(`may not import ${name}`);
    }
  }
  return problems;
}

/** The production TypeScript files under `dir/src` (tests excluded), relative to that `src`. */
export function productionFiles(dir: string): string[] {
  const src = join(dir, 'src');
  return (readdirSync(src, { recursive: true, encoding: 'utf8' }) as string[])
    .map((f) => f.split(sep).join('/'))
    .filter(
      (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.test-d.ts') && !f.endsWith('.bench.ts'),
    );
}

/** Checks a package on disk: every import of its production files against its layers. */
export function checkPackage(root: string, rules: PackageLayers): LayerViolation[] {
  const src = join(root, rules.dir, 'src');
  const imports = productionFiles(join(root, rules.dir)).flatMap((f) =>
    importsOf(f, readFileSync(join(src, f), 'utf8')),
  );
  return checkLayers(rules, imports).map((v) => ({
    ...v,
    file: relative(root, join(src, v.file)).split(sep).join('/'),
  }));
}

/**
 * The public face of a package: every name its main entries export must carry TSDoc and be used
 * outside the package (an import in another workspace) or named in code in its README or the
 * root README. Exports read with the TypeScript compiler, as a consumer's compiler sees them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** One name a main entry exports. */
export interface ExportedName {
  readonly name: string;
  /** Whether one of its declarations carries a TSDoc comment with text. */
  readonly documented: boolean;
}

/** What a check of one package found wrong, one line per name. */
export interface FaceProblem {
  readonly name: string;
  readonly problem: 'undocumented' | 'unused';
}

/** The names `entry` exports (re-exports followed), each with whether it is documented. */
export function entryExports(program: ts.Program, entry: string): ExportedName[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (source === undefined) throw new Error(`${entry} is not part of the program`);
  const module = checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`${entry} is not a module`);
  return checker.getExportsOfModule(module).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const documented = ts.displayPartsToString(target.getDocumentationComment(checker)).trim() !== '';
    return { name: symbol.name, documented };
  });
}

/** Compiler options for reading a package's entries: its module resolution, no emit. */
export const readOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};

/** A program over `entries` (files read from disk unless `host` says otherwise). */
export function packageProgram(entries: readonly string[], host?: ts.CompilerHost): ts.Program {
  return ts.createProgram(entries, readOptions, host);
}

/**
 * The names a source text takes from any of `specifiers`: named imports and re-exports
 * (`import { a }`, `export { a } from`), properties read from a namespace import (`ns.a`), and
 * names destructured from a dynamic import or a require (`const { a } = await import(…)`).
 */
export function importedNames(fileName: string, text: string, specifiers: ReadonlySet<string>): Set<string> {
  const source = ts.createSourceFile(
    fileName,
    text,
    ts.ScriptTarget.Latest,
    true,
    fileName.endsWith('x') ? ts.ScriptKind.TSX : undefined,
  );
  const names = new Set<string>();
  const namespaces = new Set<string>();
  const fromUs = (node: ts.Node | undefined): boolean =>
    node !== undefined && ts.isStringLiteral(node) && specifiers.has(node.text);
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && fromUs(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      if (bindings !== undefined && ts.isNamedImports(bindings))
        for (const e of bindings.elements) names.add((e.propertyName ?? e.name).text);
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) namespaces.add(bindings.name.text);
    } else if (
      ts.isExportDeclaration(node) &&
      fromUs(node.moduleSpecifier) &&
      node.exportClause !== undefined &&
      ts.isNamedExports(node.exportClause)
    ) {
      for (const e of node.exportClause.elements) names.add((e.propertyName ?? e.name).text);
    } else if (
      ts.isVariableDeclaration(node) &&
      ts.isObjectBindingPattern(node.name) &&
      node.initializer !== undefined
    ) {
      const init = ts.isAwaitExpression(node.initializer) ? node.initializer.expression : node.initializer;
      const loads =
        ts.isCallExpression(init) &&
        (init.expression.kind === ts.SyntaxKind.ImportKeyword ||
          (ts.isIdentifier(init.expression) && init.expression.text === 'require'));
      if (loads && fromUs(init.arguments[0])) {
        for (const e of node.name.elements) {
          const key = e.propertyName ?? e.name;
          if (ts.isIdentifier(key)) names.add(key.text);
        }
      }
    } else if (
      ts.isPropertyAccessExpression(node) &&
      ts.isIdentifier(node.expression) &&
      namespaces.has(node.expression.text)
    ) {
      names.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** The identifiers in a Markdown text's code: fenced blocks and inline code spans. */
export function namesInMarkdownCode(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const code of markdown.matchAll(/```[^\n]*\n([\s\S]*?)```|`([^`\n]+)`/g)) {
    for (const name of (code[1] ?? code[2] ?? '').matchAll(/[A-Za-z_$][\w$]*/g)) names.add(name[0]);
  }
  return names;
}

/**
 * Checks exported names against the names used elsewhere and named in the READMEs' code; names
 * that fail both ways are listed twice.
 */
export function checkFace(
  exported: readonly ExportedName[],
  used: ReadonlySet<string>,
  named: ReadonlySet<string>,
): FaceProblem[] {
  const problems: FaceProblem[] = [];
  for (const { name, documented } of exported) {
    if (!documented) problems.push({ name, problem: 'undocumented' });
    if (!used.has(name) && !named.has(name)) problems.push({ name, problem: 'unused' });
  }
  return problems;
}

const sourceFile = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const skippedDirs = new Set(['node_modules', 'dist', 'build', 'coverage']);

/** Every source file under `dir` (no `node_modules`, build output or hidden folders). */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith('.') || skippedDirs.has(entry.name) ? [] : sourceFiles(path);
    return sourceFile.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The names the source files of `files` take from `specifiers`, together. */
export function namesUsedIn(files: readonly string[], specifiers: ReadonlySet<string>): Set<string> {
  const used = new Set<string>();
  for (const file of files)
    for (const name of importedNames(file, readFileSync(file, 'utf8'), specifiers)) used.add(name);
  return used;
}

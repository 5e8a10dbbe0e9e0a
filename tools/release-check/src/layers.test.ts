import { describe, expect, it } from 'vitest';
import { checkLayers, checkPackage, importsOf, productionFiles, type PackageLayers } from './layers.js';
import { repoRoot } from './repo-copy.js';

/** The first folder of a `src`-relative path, or the file itself at the top. */
const head = (file: string) => file.split('/')[0]!;

/** A layer function from folder names and the files at the top of `src`. */
function layersBy(folders: readonly string[], top: Readonly<Record<string, string>>) {
  return (file: string): string | undefined =>
    folders.includes(head(file)) && file.includes('/') ? head(file) : top[file];
}

const checkpointTop: Record<string, string> = {
  'errors.ts': 'base',
  'limits.ts': 'base',
  'read-context.ts': 'base',
  'load-arguments.ts': 'base',
  'source.ts': 'base',
  'concat-bytes.ts': 'base',
  'progress.ts': 'base',
  'little-endian.ts': 'base',
  'open.ts': 'api',
  'load.ts': 'api',
  'inspect.ts': 'api',
  'diff.ts': 'api',
  'index.ts': 'api',
  'internal.ts': 'api',
  'node.ts': 'node',
};
const below = ['base', 'pickle', 'zip', 'tensors', 'formats', 'api', 'node', 'cli'];

/** `@x/device` ← `@x/checkpoint` ← `@x/migrate`, and inside each the folders in this order. */
const packages: readonly PackageLayers[] = [
  { dir: 'packages/device', layerOf: () => 'device', mayImport: {}, packages: [] },
  {
    dir: 'packages/checkpoint',
    layerOf: layersBy(['pickle', 'zip', 'tensors', 'formats', 'node', 'cli', 'testing'], checkpointTop),
    mayImport: {
      pickle: ['base'],
      zip: ['base'],
      tensors: ['base', 'pickle'],
      formats: ['base', 'pickle', 'zip', 'tensors'],
      api: ['base', 'pickle', 'zip', 'tensors', 'formats'],
      node: ['base', 'pickle', 'zip', 'tensors', 'formats', 'api'],
      cli: ['base', 'pickle', 'zip', 'tensors', 'formats', 'api', 'node'],
      testing: below,
    },
    packages: ['@x/device', '@x/mmap'],
  },
  {
    dir: 'packages/migrate',
    layerOf: layersBy(['module', 'device-map', 'relocate', 'cli', 'testing'], {
      'errors.ts': 'base',
      'compare-strategies.ts': 'api',
      'index.ts': 'api',
      'cli.ts': 'cli',
    }),
    mayImport: {
      module: ['base'],
      'device-map': ['base', 'module'],
      relocate: ['base'],
      api: ['base', 'module', 'device-map', 'relocate'],
      cli: ['base', 'module', 'device-map', 'relocate', 'api'],
      testing: ['base', 'module', 'device-map', 'relocate', 'api', 'cli'],
    },
    packages: ['@x/device', '@x/checkpoint'],
  },
];

describe('the layer checker', () => {
  const rules: PackageLayers = {
    dir: 'pkg',
    layerOf: layersBy(['low', 'high', 'testing'], { 'top.ts': 'base' }),
    mayImport: { low: ['base'], high: ['base', 'low'], testing: ['base', 'low', 'high'] },
    packages: ['@x/device'],
  };
  const imports = [
    ...importsOf('high/a.ts', "import { b } from '../low/b.js';\nimport type { T } from '../top.js';\n"),
    ...importsOf(
      'low/b.ts',
      "import type { A } from '../high/a.js';\nexport const b = () => import('../testing/t.js');\n",
    ),
    ...importsOf(
      'low/c.ts',
      "import { x } from '@x/migrate';\nimport { y } from '@x/device';\nimport '../../other/z.js';\n",
    ),
  ];

  it('reads static, type-only and dynamic imports with their lines', () => {
    expect(imports.map((i) => `${i.file}:${i.line} ${i.specifier}`)).toEqual([
      'high/a.ts:1 ../low/b.js',
      'high/a.ts:2 ../top.js',
      'low/b.ts:1 ../high/a.js',
      'low/b.ts:2 ../testing/t.js',
      'low/c.ts:1 @x/migrate',
      'low/c.ts:2 @x/device',
      'low/c.ts:3 ../../other/z.js',
    ]);
  });

  it('reports an import up the layers, into test helpers, of a later package, or out of src', () => {
    expect(checkLayers(rules, imports).map((v) => `${v.file}:${v.line} ${v.problem}`)).toEqual([
      'low/b.ts:1 layer low may not import layer high',
      'low/b.ts:2 layer low may not import layer testing',
      'low/c.ts:1 may not import @x/migrate',
      'low/c.ts:3 reaches outside its package’s src',
    ]);
  });
});

describe.each(packages)('$dir', (rules) => {
  it('puts every production file in a layer', () => {
    expect(productionFiles(`${repoRoot}/${rules.dir}`).filter((f) => rules.layerOf(f) === undefined)).toEqual([]);
  });

  it('imports only down its layers and packages', () => {
    expect(checkPackage(repoRoot, rules)).toEqual([]);
  });
});

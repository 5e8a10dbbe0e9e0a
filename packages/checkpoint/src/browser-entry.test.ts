import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import * as browser from './index.js';

const src = dirname(fileURLToPath(import.meta.url));
const deviceDist = join(src, '../../device/dist');
const builtins = new Set(builtinModules);

/** Runtime import specifiers of a module: static imports/re-exports (not `import type`) and `import('…')` with a literal. */
function specifiers(code: string): string[] {
  const out: string[] = [];
  const statics = /^\s*(import|export)\s+(type\s+)?(?:[\s\S]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of code.matchAll(statics)) if (m[2] === undefined) out.push(m[3]!);
  for (const m of code.matchAll(/\bimport\(\s*(?:\/\*[\s\S]*?\*\/\s*)?['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** Every module reachable from `entry`, following relative imports (`.js` -> `.ts` in src) and @x/device's dist. */
function walk(entry: string): { modules: string[]; nodeImports: string[] } {
  const seen = new Set<string>();
  const nodeImports: string[] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('node:') || builtins.has(spec.split('/')[0]!)) {
        nodeImports.push(`${relative(join(src, '../..'), file)} -> ${spec}`);
      } else if (spec.startsWith('.')) {
        const target = join(dirname(file), spec);
        queue.push(file.endsWith('.ts') ? target.replace(/\.js$/, '.ts') : target);
      } else if (spec === '@x/device') {
        queue.push(join(deviceDist, 'index.js'));
      }
    }
  }
  return { modules: [...seen], nodeImports };
}

describe('the browser entry (src/index.ts)', () => {
  it('reaches no Node built-in, statically or dynamically', () => {
    const { modules, nodeImports } = walk(join(src, 'index.ts'));
    expect(modules).toContain(join(src, 'load.ts'));
    expect(modules).toContain(join(deviceDist, 'runtime.js'));
    expect(modules).not.toContain(join(src, 'node/source.ts'));
    expect(nodeImports).toEqual([]);
  });

  it('nor does the internal entry (src/internal.ts), which the browser app imports', () => {
    const { modules, nodeImports } = walk(join(src, 'internal.ts'));
    expect(modules).toContain(join(src, 'zip/writer.ts'));
    expect(nodeImports).toEqual([]);
  });

  it('the walker sees what it must reject', () => {
    expect(walk(join(src, 'node.ts')).nodeImports).toContain('checkpoint/src/node/read.ts -> node:path');
    expect(specifiers("import type { A } from 'node:fs';\nconst m = await import(/* x */ 'node:os');")).toEqual([
      'node:os',
    ]);
  });

  it("load(blob, { mapLocation: 'cpu' }) works from the browser entry", async () => {
    const bytes = readFileSync(fileURLToPath(new URL('../test/fixtures/zip/cuda0.pt', import.meta.url)));
    const manifest = JSON.parse(
      readFileSync(fileURLToPath(new URL('../test/fixtures/manifest.json', import.meta.url)), 'utf8'),
    ) as {
      fixtures: { file: string; tensors: { path: string[]; sha256: string }[] }[];
    };
    const expected = manifest.fixtures.find((f) => f.file === 'zip/cuda0.pt')!.tensors;
    const { value, report } = await browser.load<Map<string, Tensor>>(new Blob([bytes]), { mapLocation: 'cpu' });
    expect(report.tensors.map((t) => t.device)).toEqual(['cpu', 'cpu']);
    for (const t of expected) {
      const data = value.get(t.path[0]!)!.dataSync() as Float32Array;
      expect(await browser.sha256Hex(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))).toBe(t.sha256);
    }
  });

  it('file paths need the Node entry', async () => {
    const e = await browser.open('model.pt').catch((err: unknown) => err);
    expect(browser.isCheckpointError(e) && e.code).toBe('SOURCE_IO');
  });
});

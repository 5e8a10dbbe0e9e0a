import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Checks, Via } from '../page/checkpoint-page.js';
import { bundlePage } from './bundle.js';
import { browserTestsRun, launchChromium } from './chromium.js';
import { serveFolders, type StaticServer } from './static-server.js';

/** manifest.json of the committed fixtures, written by tools/fixtures/make_fixtures.py from real torch 1.13. */
interface ManifestFixture {
  file: string;
  format: string;
  tensors: { path: unknown[]; dtype: string; shape: number[]; location: string; sha256: string | null }[];
  error?: { code: string };
  torch_error?: string;
}

const fixtures = fileURLToPath(new URL('../../../packages/checkpoint/test/fixtures/', import.meta.url));
const manifest = (
  JSON.parse(await readFile(join(fixtures, 'manifest.json'), 'utf8')) as { fixtures: ManifestFixture[] }
).fixtures;
const wasmDist = fileURLToPath(new URL('../../../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url));

/** A manifest path step as `inspect` writes it: tuple dict keys as their Python repr. */
function step(p: unknown): string | number {
  if (typeof p === 'object' && p !== null && '$tuple' in p) {
    const items = (p as { $tuple: unknown[] }).$tuple.map((x) =>
      typeof x === 'string' ? JSON.stringify(x) : String(x),
    );
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  return p as string | number;
}

/** Sharded indexes name sibling files, which only a URL source can open; every other file goes in as a Blob and as bytes. */
function vias(fx: ManifestFixture): Via[] {
  return fx.format === 'sharded' ? ['url'] : ['blob', 'bytes'];
}

let dir: string;
let server: StaticServer;
let browser: Browser;
let page: Page;

/** Runs one of the page's checks in Chromium. */
function check<K extends keyof Checks>(
  name: K,
  ...args: Parameters<Checks[K]>
): Promise<Awaited<ReturnType<Checks[K]>>> {
  return page.evaluate(([n, a]) => (window.checks[n] as (...x: unknown[]) => Promise<never>)(...a), [
    name,
    args,
  ] as const);
}

describe.runIf(browserTestsRun())('@x/checkpoint/browser in headless Chromium (Debian package)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'x-browser-test-'));
    await bundlePage(fileURLToPath(new URL('../page/checkpoint-page.ts', import.meta.url)), dir);
    await writeFile(
      join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>',
    );
    server = await serveFolders({ '/': dir, '/fixtures/': fixtures, '/wasm/': wasmDist });
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => 'checks' in window);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('binds cpu, wasm (SIMD, no threads: the page is not cross-origin isolated) and webgl (WebGL 2 on SwiftShader, no GPU); webgpu and cuda are absent', async () => {
    const env = await check('environment');
    expect(env.devices).toEqual(['cpu', 'wasm', 'webgl']);
    expect(Object.keys(env.unavailable)).toEqual(['webgpu', 'cuda']);
    expect(env.unavailable['cuda']!.startsWith(manifest.find((f) => f.file === 'zip/cuda0.pt')!.torch_error!)).toBe(
      true,
    );
    expect(env.webglRenderer).toMatch(/SwiftShader/);
    expect(env.wasm).toEqual({ simd: true, threads: false });
  });

  describe('every committed fixture gives the manifest dtype, shape, location and SHA-256 of every tensor', () => {
    for (const fx of manifest) {
      it(`${fx.file} (${vias(fx).join(', ')})`, async () => {
        for (const via of vias(fx)) {
          const result = await check('inspect', fx.file, via);
          if (fx.error !== undefined) {
            expect('error' in result && result.error.code, via).toBe(fx.error.code);
            continue;
          }
          if ('error' in result)
            throw new Error(`${fx.file} via ${via}: ${result.error.code}: ${result.error.message}`);
          expect(result.format).toBe(fx.format);
          const ours = result.tensors.map((t) => ({
            key: JSON.stringify(t.path),
            dtype: t.dtype,
            shape: t.shape,
            location: t.location,
            sha256: t.sha256,
          }));
          const expected = fx.tensors.map((t) => ({
            key: JSON.stringify(t.path.map(step)),
            dtype: t.dtype,
            shape: t.shape,
            location: t.location,
            sha256: t.sha256,
          }));
          const byKey = (a: { key: string }, b: { key: string }): number =>
            a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
          expect(ours.sort(byKey), via).toEqual(expected.sort(byKey));
        }
      });
    }
  });

  describe('zip/cuda0.pt, saved on cuda:0', () => {
    const cuda0 = manifest.find((f) => f.file === 'zip/cuda0.pt')!;
    const hashes = cuda0.tensors.map((t) => ({ path: t.path, sha256: t.sha256 }));
    const bytes = cuda0.tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * 4, 0); // float32

    it("fails without mapLocation with torch's DEVICE_UNAVAILABLE text", async () => {
      const result = await check('load', cuda0.file, undefined);
      expect('error' in result && result.error.code).toBe('DEVICE_UNAVAILABLE');
      expect('error' in result && result.error.message.startsWith(cuda0.torch_error!)).toBe(true);
    });

    for (const target of ['webgl', 'wasm', 'cpu']) {
      it(`lands on ${target} with mapLocation '${target}': the data lives on that backend, the hashes match, the ledger counts it`, async () => {
        const result = await check('load', cuda0.file, target);
        if ('error' in result) throw new Error(`${result.error.code}: ${result.error.message}`);
        const device = target === 'cpu' ? 'cpu' : `${target}:0`;
        expect(result.tensors.map((t) => ({ path: t.path, sha256: t.sha256 }))).toEqual(hashes);
        expect(result.tensors.map((t) => [t.device, t.backend])).toEqual(hashes.map(() => [device, target]));
        expect(result.ledger[device]).toMatchObject({ bytes, tensors: hashes.length });
        for (const [d, usage] of Object.entries(result.ledger)) if (d !== device) expect(usage.bytes, d).toBe(0);
      });
    }
  });
});

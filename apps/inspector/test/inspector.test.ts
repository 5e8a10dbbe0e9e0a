/**
 * End to end: the built page in headless Chromium, fixtures opened through the real file inputs
 * (and a URL over HTTP Range requests), checked against the fixture manifest written from real
 * PyTorch and against arithmetic shown here. Screenshots land in test-artifacts/ (git-ignored).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planDeviceMap } from '@x/migrate';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { browserTestsRun, chromiumPath, launchChromium, serveFolders, type StaticServer } from '@x-tools/browser-test';
import { safetensorsBytes, type F32Tensor } from './synthetic-safetensors.js';

const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(APP, 'dist');
const FIXTURES = join(APP, '../../packages/checkpoint/test/fixtures');
const ARTIFACTS = join(APP, 'test-artifacts');

interface ManifestTensor {
  path: (string | number)[];
  dtype: string;
  shape: number[];
  location: string;
}
interface ManifestFixture {
  file: string;
  format: string;
  tensors: ManifestTensor[];
  torch_error?: string;
  error?: { code: string; global?: string };
}
const manifest = JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { fixtures: ManifestFixture[] };
const fixture = (file: string): ManifestFixture => manifest.fixtures.find((f) => f.file === file)!;

/** Tensors t.0 … t.9999 with (i % 7) + 1 elements each, the value i in every element. */
const MANY: F32Tensor[] = Array.from({ length: 10_000 }, (_, i) => ({
  name: `t.${i}`,
  shape: [(i % 7) + 1],
  values: new Array<number>((i % 7) + 1).fill(i),
}));
/** Finite values 1, 2, 3, 4, 10 plus one NaN, +Inf and −Inf. */
const SPECIAL: F32Tensor = { name: 'special', shape: [2, 4], values: [1, 2, 3, 4, NaN, Infinity, -Infinity, 10] };
/** 1 … 8, all finite. */
const PLAIN: F32Tensor = { name: 'plain', shape: [8], values: [1, 2, 3, 4, 5, 6, 7, 8] };

let server: StaticServer;
let scratch: string;
let browser: Browser;
let page: Page;

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Opens files through the page's real file input and waits until the page shows them or an error. */
async function openFiles(input: '#file' | '#folder', files: Parameters<Page['setInputFiles']>[1]): Promise<string> {
  await page.evaluate(() => (document.body.dataset.state = 'waiting'));
  await page.setInputFiles(input, files);
  await page.waitForSelector('body[data-state=ready], body[data-state=error]');
  return (await page.getAttribute('body', 'data-state'))!;
}

/** Writes `bytes` to a scratch file and returns its path (a path reaches the page faster than a buffer). */
function scratchFile(name: string, bytes: Uint8Array): string {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
}

async function rowNames(): Promise<string[]> {
  return page.$$eval('.spacer .row', (rows) => rows.map((r) => (r as HTMLElement).dataset.name!));
}

async function cells(name: string): Promise<string[]> {
  return page.$$eval(`.spacer .row[data-name="${name}"] .col`, (cols) => cols.map((c) => c.textContent ?? ''));
}

/** Statistics of the selected tensor `name` as computed on `device`. */
async function statsOn(name: string, device: string): Promise<Record<string, string>> {
  await page.selectOption(`#tensor [data-name="${name}"] select.stats-device`, device);
  await page.waitForSelector(`#tensor [data-name="${name}"] .computed[data-device="${device}"]`);
  return page.$$eval('#tensor .computed dl.stats dt', (dts) =>
    Object.fromEntries(dts.map((dt) => [dt.textContent!, dt.nextElementSibling!.textContent!])),
  );
}

// counted as a failed test (not only a failed hook) when CI lacks Chromium
test.runIf(browserTestsRun())('Chromium is installed', () => {
  expect(
    chromiumPath(),
    "no Chromium at X_CHROMIUM or /usr/bin/chromium: install Debian's chromium (.ci/setup/30-chromium.sh)",
  ).toBeDefined();
});

describe.runIf(browserTestsRun())('inspector in headless Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(join(DIST, 'index.html'))) await build({ root: APP, logLevel: 'warn' });
    mkdirSync(ARTIFACTS, { recursive: true });
    scratch = mkdtempSync(join(tmpdir(), 'inspector-test-'));
    server = await serveFolders({ '/': DIST, '/fixtures/': FIXTURES });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${server.origin}/`);
    await page.waitForSelector('body[data-state=idle]', { timeout: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('starts with the backends this browser really has, wasm from the build itself', async () => {
    const devices = (await page.getAttribute('body', 'data-devices'))!.split(',');
    expect(devices).toContain('cpu');
    expect(devices).toContain('wasm');
  });

  test('a CUDA-saved file: rows, DEVICE_UNAVAILABLE with torch text, remap to wasm, the ledger', async () => {
    const cuda = fixture('zip/cuda0.pt');
    expect(await openFiles('#file', join(FIXTURES, cuda.file))).toBe('ready');
    expect(await page.getAttribute('[data-format]', 'data-format')).toBe('zip');
    expect(await rowNames()).toEqual(cuda.tensors.map((t) => t.path.join('.')));
    for (const t of cuda.tensors) {
      const [, name, dtype, shape, bytes, location] = await cells(t.path.join('.'));
      expect([name, dtype, shape, location]).toEqual([t.path.join('.'), t.dtype, t.shape.join(' × '), t.location]);
      expect(bytes).toBe(`${t.shape.reduce((a, b) => a * b, 1) * 4} B`); // float32
    }
    const failure = page.locator('.locations td .fails');
    expect(await failure.getAttribute('data-code')).toBe('DEVICE_UNAVAILABLE');
    expect(await failure.textContent()).toContain(cuda.torch_error!);
    expect(await page.getAttribute('.locations .outcome .error', 'data-code')).toBe('DEVICE_UNAVAILABLE');
    expect(await page.isDisabled('button.place')).toBe(true);
    await screenshot('cuda-saved');

    await page.selectOption('select[data-location="cuda:0"]', 'wasm');
    await page.waitForSelector('.locations .outcome p.ok');
    await page.click('button.place');
    await page.waitForSelector('.ledger-table');
    // 6 + 2 float32 elements, placed straight on wasm: nothing copied
    expect(
      await page.$$eval('.ledger-table tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent))),
    ).toEqual([['wasm:0', '32 B', '32 B', '2']]);
    expect(await page.textContent('.ledger')).toContain('Copies between devices: 0');
    await screenshot('cuda-remapped-ledger');
  });

  test('statistics and a 64-bin histogram, the same on every backend', async () => {
    expect(await openFiles('#file', scratchFile('special.safetensors', safetensorsBytes([SPECIAL, PLAIN])))).toBe(
      'ready',
    );
    const devices = (await page.getAttribute('body', 'data-devices'))!.split(',');
    const cases = [
      {
        name: 'special',
        // finite 1, 2, 3, 4, 10: mean 4, squared deviations 9 + 4 + 1 + 0 + 36 = 50, std sqrt(50 / 4)
        stats: {
          min: '1',
          max: '10',
          mean: '4',
          std: String(Number(Math.sqrt(50 / 4).toPrecision(5))),
          NaN: '1',
          '+Inf / −Inf': '1 / 1',
          elements: '8',
        },
        // bins of width 9/64 from 1: 1 -> 0, 2 -> floor(64/9) = 7, 3 -> 14, 4 -> 21, 10 -> 63 (the last bin holds the max)
        bins: [0, 7, 14, 21, 63],
      },
      {
        name: 'plain',
        // mean 4.5, squared deviations 2 · (0.25 + 2.25 + 6.25 + 12.25) = 42, std sqrt(42 / 7)
        stats: {
          min: '1',
          max: '8',
          mean: '4.5',
          std: String(Number(Math.sqrt(6).toPrecision(5))),
          NaN: '0',
          '+Inf / −Inf': '0 / 0',
          elements: '8',
        },
        // bins of width 7/64 from 1: v -> floor((v - 1) · 64 / 7) = 0, 9, 18, 27, 36, 45, 54, and 8 -> 63
        bins: [0, 9, 18, 27, 36, 45, 54, 63],
      },
    ];
    for (const c of cases) {
      await page.click(`.spacer .row[data-name="${c.name}"]`);
      for (const device of devices) {
        expect(await statsOn(c.name, device)).toMatchObject(c.stats);
        const heights = await page.$$eval('.computed .histogram rect.bar', (bars) =>
          bars.map((b) => Number(b.getAttribute('height'))),
        );
        expect(heights).toHaveLength(64);
        expect(heights.flatMap((h, i) => (h > 0 ? [i] : []))).toEqual(c.bins);
      }
    }
    await page.click('.spacer .row[data-name="special"]');
    await page.waitForSelector('.computed .histogram');
    await screenshot('statistics');
  });

  test('10,000 tensors: only the rows in view exist; scroll, filter and sort', async () => {
    expect(await openFiles('#file', scratchFile('many.safetensors', safetensorsBytes(MANY)))).toBe('ready');
    expect(await page.textContent('.count')).toBe('10,000 of 10,000 tensors');
    const firstRows = await rowNames();
    expect(firstRows.length).toBeLessThan(60);
    expect(firstRows[0]).toBe('t.0');
    await page.$eval('.viewport', (v) => (v.scrollTop = v.scrollHeight));
    await page.waitForFunction(() => document.querySelector('.spacer .row[data-name="t.9999"]') !== null);
    expect((await rowNames()).length).toBeLessThan(60);

    await page.fill('input.filter', 't.999');
    // t.999 and t.9990 … t.9999
    expect(await page.textContent('.count')).toBe('11 of 10,000 tensors');
    await page.fill('input.filter', '');
    await page.click('button[data-sort="bytes"]');
    // largest first: 7 elements (i % 7 = 6), first in file order is t.6
    expect((await rowNames())[0]).toBe('t.6');
    expect((await cells('t.6'))[4]).toBe('28 B');
    await screenshot('ten-thousand');
  });

  test('a Hugging Face folder (index + shards) through the folder input', async () => {
    const sharded = fixture('sharded/model.safetensors.index.json');
    const dir = join(FIXTURES, 'sharded');
    expect(await openFiles('#folder', dir)).toBe('ready');
    expect(await page.getAttribute('[data-format]', 'data-format')).toBe('sharded');
    expect(await page.textContent('.summary')).toContain('model.safetensors.index.json');
    // the page lists shard by shard; the manifest follows the index's weight_map
    expect((await rowNames()).sort()).toEqual(sharded.tensors.map((t) => t.path.join('.')).sort());
    await page.click(`.spacer .row[data-name="${sharded.tensors.at(-1)!.path.join('.')}"]`);
    await page.waitForSelector('.computed .histogram');
  });

  test('a file dropped on the page', async () => {
    const linear = fixture('zip/linear.pt');
    const bytes = [...readFileSync(join(FIXTURES, linear.file))];
    await page.evaluate(() => (document.body.dataset.state = 'waiting'));
    await page.evaluate((data) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([new Uint8Array(data)], 'dropped.pt'));
      document
        .querySelector('main')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, bytes);
    await page.waitForSelector('body[data-state=ready], body[data-state=error]');
    expect(await page.textContent('.summary')).toContain('dropped.pt');
    expect(await rowNames()).toEqual(linear.tensors.map((t) => t.path.join('.')));
  });

  test('a URL read with HTTP Range requests', async () => {
    const linear = fixture('zip/linear.pt');
    const before = server.ranges.length;
    await page.evaluate(() => (document.body.dataset.state = 'waiting'));
    await page.fill('#url', `${server.origin}/fixtures/${linear.file}`);
    await page.click('#url-form button');
    await page.waitForSelector('body[data-state=ready], body[data-state=error]');
    expect(await rowNames()).toEqual(linear.tensors.map((t) => t.path.join('.')));
    expect(server.ranges.length).toBeGreaterThan(before);
  });

  test('a hostile file: its error code and a readable message, nothing run, the page keeps working', async () => {
    const hostile = fixture('hostile/system-zip.pt');
    expect(await openFiles('#file', join(FIXTURES, hostile.file))).toBe('error');
    expect(await page.getAttribute('#error .error', 'data-code')).toBe(hostile.error!.code);
    expect(await page.textContent('#error .message')).toContain(hostile.error!.global!);
    await screenshot('hostile');
    expect(await openFiles('#file', join(FIXTURES, 'zip/linear.pt'))).toBe('ready');
    expect(await page.textContent('#error')).toBe('');
  });

  test('a broken file (a zip cut in half): its error code, then the next file opens', async () => {
    const whole = readFileSync(join(FIXTURES, 'zip/cuda0.pt'));
    const half = whole.subarray(0, Math.floor(whole.length / 2));
    expect(await openFiles('#file', scratchFile('cut.pt', half))).toBe('error');
    expect(await page.getAttribute('#error .error', 'data-code')).toBe('ZIP_EOCD_NOT_FOUND');
    expect(await page.textContent('#error .message')).toContain('truncated file?');
    expect(await openFiles('#file', join(FIXTURES, 'zip/linear.pt'))).toBe('ready');
  });

  test('the device-map plan: what the planner returns per strategy, readable sizes, labels inside the chart', async () => {
    expect(await openFiles('#folder', join(FIXTURES, 'sharded'))).toBe('ready');
    const maxMemory = { webgl: 250, wasm: 250, cpu: 1024 };
    await page.fill('input.limits', 'webgl=250, wasm=250, cpu=1KiB');
    await page.click('.plan-form button');
    await page.waitForSelector('.plan-out .plan-chart');
    const strategies = await page.$$eval('.plan-chart text.strategy', (t) => t.map((e) => e.textContent));
    expect(strategies).toEqual(['auto / balanced', 'balanced_low_0', 'sequential']);
    // the same plans made here from the manifest's sizes (float32: 4 bytes per element), in the page's order
    const sizes = new Map(
      fixture('sharded/model.safetensors.index.json').tensors.map((t) => [
        t.path.join('.'),
        4 * t.shape.reduce((a, b) => a * b, 1),
      ]),
    );
    const entries = (await rowNames()).map((name) => ({ name, bytes: sizes.get(name)! }));
    const expected = (['auto', 'balanced_low_0', 'sequential'] as const).flatMap((strategy) => {
      const plan = planDeviceMap(entries, { strategy, maxMemory });
      return Object.keys(plan.budgets).map((d) => [d, plan.totals[d] ?? 0]);
    });
    const drawn = await page.$$eval('.plan-chart rect.used', (rects) =>
      rects.map((r) => [r.getAttribute('data-device'), Number(r.getAttribute('data-bytes'))]),
    );
    expect(drawn).toEqual(expected);
    // more than one device holds bytes in some plan: the chart is not a one-device map
    expect(new Set(drawn.filter(([, b]) => (b as number) > 0).map(([d]) => d)).size).toBeGreaterThan(1);
    const values = await page.$$eval('.plan-chart text.value', (t) => t.map((e) => e.textContent!));
    expect(values).toHaveLength(expected.length);
    for (const v of values) expect(v).toMatch(/^\d+(\.\d+)? (B|KiB|MiB|GiB) of \d+(\.\d+)? (B|KiB|MiB|GiB)$/);
    const overflow = await page.$$eval('.plan-chart text', (texts) => {
      const box = (texts[0] as SVGTextElement).ownerSVGElement!.viewBox.baseVal;
      return texts.filter((t) => {
        const b = (t as SVGTextElement).getBBox();
        return b.x < 0 || b.x + b.width > box.width;
      }).length;
    });
    expect(overflow).toBe(0);
    await page.locator('section.plan').screenshot({ path: join(ARTIFACTS, 'plan.png') });
  });
});

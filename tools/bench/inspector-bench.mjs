#!/usr/bin/env node
/**
 * Inspector benchmark: a large checkpoint opened from disk in the inspector page in headless
 * Chromium, side by side with the Node `open()` of the same file, in one run.
 *
 *   npm run build -w apps/inspector && node tools/bench/inspector-bench.mjs [FILE] [TENSOR] [RUNS]
 *
 * Defaults: /work/bench-data/gpt2-medium.pt, transformer.h.0.mlp.c_fc.weight (1024 × 4096 float32, 16 MiB), 3 runs.
 * The page is served by `vite preview` on 127.0.0.1 and the file goes through the page's real
 * file input. Per run it measures:
 *
 *   page list        file input `change` -> every tensor listed in the table (the page's own clock)
 *   page list (wall) setInputFiles -> the table shown, measured from Node (includes the CDP round trips)
 *   setInputFiles (wall)  the part of that spent in Playwright's setInputFiles call alone
 *   page histogram   click on TENSOR's row -> statistics and histogram drawn, once per backend
 *                    (cpu, wasm, webgl when the browser has it: headless Chromium draws WebGL with
 *                    SwiftShader, a CPU rasteriser, so webgl numbers here are not GPU numbers)
 *   node open        open(FILE) from @x/checkpoint's Node entry -> names listed
 *   node tensor      open(FILE) + tensor(TENSOR) on cpu
 *
 * Chromium: X_CHROMIUM or /usr/bin/chromium. The machine's 1-minute load average is printed
 * before and after, since other processes skew wall times.
 */
import { existsSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const file = process.argv[2] ?? '/work/bench-data/gpt2-medium.pt';
const tensorName = process.argv[3] ?? 'transformer.h.0.mlp.c_fc.weight';
const runs = Number(process.argv[4] ?? 3);
const appDir = fileURLToPath(new URL('../../apps/inspector/', import.meta.url));
const chromiumPath = process.env.X_CHROMIUM ?? '/usr/bin/chromium';

if (!existsSync(file)) throw new Error(`${file} does not exist (bench files: tools/fixtures/make_bench_model.py)`);
if (!existsSync(`${appDir}dist/index.html`)) throw new Error('build the page first: npm run build -w apps/inspector');

const { preview } = await import('vite');
const { chromium } = await import('playwright-core');
const checkpoint = await import(new URL('../../packages/checkpoint/dist/node.js', import.meta.url).href);
const { createDeviceRuntime } = await import('@x/device');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
const record = (key, ms) => (results[key] ??= []).push(ms);

async function pageRun(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('body[data-state=idle]', { timeout: 60_000 });
  const devices = (await page.getAttribute('body', 'data-devices')).split(',');
  const t0 = performance.now();
  await page.setInputFiles('#file', file);
  record('setInputFiles (wall)', performance.now() - t0);
  await page.waitForSelector('body[data-state=ready]', { timeout: 60_000 });
  record('page list (wall)', performance.now() - t0);
  record('page list', Number(await page.getAttribute('body', 'data-listed-ms')));
  await page.fill('input.filter', tensorName);
  await page.waitForSelector(`.spacer .row[data-name="${tensorName}"]`);
  for (const device of ['cpu', 'wasm', 'webgl'].filter((d) => devices.includes(d))) {
    await page.evaluate(() => delete document.body.dataset.histogramMs);
    if (device === 'cpu') await page.click(`.spacer .row[data-name="${tensorName}"]`);
    else await page.selectOption('select.stats-device', device);
    await page.waitForSelector(`.computed[data-device="${device}"] .histogram`, { timeout: 120_000 });
    record(`page histogram ${device}`, Number(await page.getAttribute('body', 'data-histogram-ms')));
  }
  await page.close();
}

async function nodeRun(runtime) {
  let t0 = performance.now();
  let ckpt = await checkpoint.open(file, { mapLocation: 'cpu', runtime });
  const listed = ckpt.names.length;
  record('node open', performance.now() - t0);
  await ckpt.close();
  t0 = performance.now();
  ckpt = await checkpoint.open(file, { mapLocation: 'cpu', runtime });
  const t = await ckpt.tensor(tensorName);
  record('node tensor', performance.now() - t0);
  runtime.dispose(t);
  await ckpt.close();
  return listed;
}

console.log(
  `file ${file} (${(statSync(file).size / 2 ** 30).toFixed(2)} GiB), tensor ${tensorName}, ${runs} runs, load average ${loadavg()[0].toFixed(2)}`,
);
const server = await preview({
  root: appDir,
  logLevel: 'warn',
  preview: { host: '127.0.0.1', port: 0, strictPort: false },
});
const url = server.resolvedUrls.local[0];
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
const runtime = await createDeviceRuntime({ cuda: false });
let tensors = 0;
try {
  for (let i = 0; i < runs; i++) {
    await pageRun(browser, url);
    tensors = await nodeRun(runtime);
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(`${tensors} tensors; median of ${runs} runs (all runs in ms):`);
for (const [key, xs] of Object.entries(results))
  console.log(
    `  ${key.padEnd(22)} ${median(xs).toFixed(1).padStart(8)} ms   [${xs.map((x) => x.toFixed(1)).join(', ')}]`,
  );
console.log(`load average after: ${loadavg()[0].toFixed(2)}`);

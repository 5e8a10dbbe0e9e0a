#!/usr/bin/env node
/**
 * Writes docs/inspector.png, the README's picture of the inspector: FILE opened through the page's
 * file input in headless Chromium, TENSOR selected (statistics and histogram on cpu).
 *
 *   npm run build -w apps/inspector && node tools/bench/inspector-screenshot.mjs [FILE] [TENSOR]
 *
 * Defaults: /work/bench-data/gpt2-medium.pt and transformer.h.0.mlp.c_fc.weight.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = process.argv[2] ?? '/work/bench-data/gpt2-medium.pt';
const tensorName = process.argv[3] ?? 'transformer.h.0.mlp.c_fc.weight';
const appDir = fileURLToPath(new URL('../../apps/inspector/', import.meta.url));
const out = fileURLToPath(new URL('../../docs/inspector.png', import.meta.url));
if (!existsSync(`${appDir}dist/index.html`)) throw new Error('build the page first: npm run build -w apps/inspector');

const { preview } = await import('vite');
const { chromium } = await import('playwright-core');
const server = await preview({ root: appDir, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0 } });
const browser = await chromium.launch({
  executablePath: process.env.X_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  await page.goto(server.resolvedUrls.local[0]);
  await page.waitForSelector('body[data-state=idle]', { timeout: 60_000 });
  await page.setInputFiles('#file', file);
  await page.waitForSelector('body[data-state=ready]', { timeout: 60_000 });
  await page.$eval(
    '.viewport',
    (v, name) => {
      const index = [...document.querySelectorAll('.spacer .row')].findIndex((r) => r.dataset.name === name);
      if (index > 8) v.scrollTop = (index - 4) * 26;
    },
    tensorName,
  );
  await page.click(`.spacer .row[data-name="${tensorName}"]`);
  await page.waitForSelector('.computed .histogram', { timeout: 60_000 });
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.close();
}

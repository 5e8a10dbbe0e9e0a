import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { browserTestsRun, launchChromium } from '@x-tools/browser-test';
import { createDeviceRuntime, formatBytes, type DeviceRuntime } from '@x/device';
import type { StrategyLedger } from '@x/migrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CHECKPOINT, runPlacement } from './placement.js';
import { renderReport } from './report-html.js';

/** Screenshots land here (git-ignored) for people and CI to look at. */
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

/** GPT-2 medium as the README benchmarks it: 354,823,168 float32 parameters. */
const GPT2_BYTES = 354_823_168 * 4;

/** A measured strategy with the given peaks (also its final bytes). */
function measured(
  strategy: StrategyLedger['strategy'],
  label: string,
  peak: Record<string, number>,
  moved = 0,
): StrategyLedger {
  return {
    strategy,
    label,
    bytesRead: GPT2_BYTES,
    bytesMoved: moved,
    copies: moved > 0 ? 1 : 0,
    peak,
    final: peak,
    wallMs: 659.2,
    ok: true,
  };
}

/** What the layout check measures in Chromium. */
interface Layout {
  svg: { width: number; height: number };
  /** Each chart text and its box, relative to the SVG's box. */
  texts: { text: string; left: number; top: number; right: number; bottom: number }[];
  bars: { strategy: string; device: string; bytes: number; width: number }[];
  /** Widest element of the page vs the viewport. */
  scrollWidth: number;
  viewport: number;
  /** The visible text of the page. */
  text: string;
}

let runtime: DeviceRuntime;
let browser: Awaited<ReturnType<typeof launchChromium>>;

/** Renders `html` in Chromium at 1000 px wide, saves a full-page screenshot as `name`.png and measures the chart. */
async function layout(name: string, html: string): Promise<Layout> {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  try {
    await page.setContent(html);
    await page.screenshot({ path: `${ARTIFACTS}report-${name}.png`, fullPage: true });
    return await page.evaluate(() => {
      const svg = document.querySelector('svg')!;
      const box = svg.getBoundingClientRect();
      const rel = (r: DOMRect) => ({
        left: r.left - box.left,
        top: r.top - box.top,
        right: r.right - box.left,
        bottom: r.bottom - box.top,
      });
      return {
        svg: { width: box.width, height: box.height },
        texts: [...svg.querySelectorAll('text')].map((t) => ({
          text: t.textContent ?? '',
          ...rel(t.getBoundingClientRect()),
        })),
        bars: [...svg.querySelectorAll<SVGRectElement>('rect.bar')].map((r) => ({
          strategy: r.dataset['strategy']!,
          device: r.dataset['device']!,
          bytes: Number(r.dataset['bytes']),
          width: r.getBoundingClientRect().width,
        })),
        scrollWidth: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        text: document.body.textContent,
      };
    });
  } finally {
    await page.close();
  }
}

/** Layout facts every report must have: chart text inside the chart and apart, bars to scale, no raw byte counts, nothing wider than the window. */
function expectLegible(l: Layout): void {
  for (const t of l.texts) {
    expect(t.left, `"${t.text}" starts left of the chart`).toBeGreaterThanOrEqual(0);
    expect(t.top, `"${t.text}" starts above the chart`).toBeGreaterThanOrEqual(0);
    expect(t.right, `"${t.text}" ends right of the chart`).toBeLessThanOrEqual(l.svg.width);
    expect(t.bottom, `"${t.text}" ends below the chart`).toBeLessThanOrEqual(l.svg.height);
  }
  for (const [i, a] of l.texts.entries()) {
    for (const b of l.texts.slice(i + 1)) {
      const overlap =
        Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
        Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
      expect(overlap, `"${a.text}" overlaps "${b.text}"`).toBe(false);
    }
  }
  const drawn = l.bars.filter((b) => b.bytes > 0);
  const scale = drawn[0]!.width / drawn[0]!.bytes;
  for (const b of l.bars) expect(b.width, `${b.strategy}/${b.device}`).toBeCloseTo(b.bytes * scale, 0);
  expect(l.text).not.toMatch(/\b\d{5,}\b/); // sizes read as KiB/MiB/GiB, never 16777216
  expect(l.scrollWidth).toBeLessThanOrEqual(l.viewport);
}

describe.runIf(browserTestsRun())(
  'the placement report in headless Chromium (screenshots in apps/placement/test-artifacts/)',
  () => {
    beforeAll(async () => {
      await mkdir(ARTIFACTS, { recursive: true });
      runtime = await createDeviceRuntime({ cuda: false });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('a planned split of the CNN: labels apart and inside the chart, sizes in KiB, each bar labelled with its size', async () => {
      const { html, results } = await runPlacement({
        checkpoint: DEFAULT_CHECKPOINT,
        runtime,
        target: 'cpu',
        maxMemory: { wasm: 7400, cpu: '1GiB' },
        log: () => undefined,
      });
      const l = await layout('split', html);
      expectLegible(l);
      const split = results.find((r) => r.strategy === 'device-map')!;
      for (const [device, bytes] of Object.entries(split.peak)) {
        expect(l.texts.map((t) => t.text)).toContain(formatBytes(bytes));
        expect(bytes, device).toBeGreaterThan(0);
      }
      expect(l.texts.map((t) => t.text)).toEqual(
        expect.arrayContaining([
          '0 B',
          '2 KiB',
          '4 KiB',
          '6 KiB',
          '8 KiB',
          'failed: DEVICE_UNAVAILABLE',
          'nothing placed',
        ]),
      );
      expect(l.text).not.toContain('Every module goes to');
    });

    it('one budget (no limit to split for): the one-device map is said so, with how to split it', async () => {
      const { html, deviceMap } = await runPlacement({
        checkpoint: DEFAULT_CHECKPOINT,
        runtime,
        target: 'wasm',
        maxMemory: { cpu: '1GiB' },
        log: () => undefined,
      });
      expect(new Set(Object.values(deviceMap)).size).toBe(1);
      const l = await layout('one-device', html);
      expectLegible(l);
      expect(l.text).toContain(
        `Every module goes to ${Object.values(deviceMap)[0]}: no memory limit made the planner split the model.`,
      );
      expect(l.text).toMatch(/--max-memory.*--map/s);
    });

    it('GiB-sized ledgers on three devices: readable sizes on a round axis, every label still apart and inside', async () => {
      const half = GPT2_BYTES / 2;
      const html = renderReport({
        checkpoint: '/models/gpt2-medium/pytorch_model.bin',
        deviceMap: { 'transformer.h.0-11': 'cuda:0', 'transformer.h.12-23': 'webgpu:0', lm_head: 'cpu' },
        results: [
          measured('map-location', "load(f, { mapLocation: 'cpu' })", { cpu: GPT2_BYTES }),
          measured('load-then-to', "load(f).to('cpu')", { 'cuda:0': GPT2_BYTES, cpu: GPT2_BYTES }, GPT2_BYTES),
          measured('device-map', 'loadWithDeviceMap(f, { … })', { 'cuda:0': half, 'webgpu:0': half - 4096, cpu: 4096 }),
        ],
      });
      const l = await layout('gib', html);
      expectLegible(l);
      expect(l.texts.map((t) => t.text)).toEqual(expect.arrayContaining(['1.32 GiB', '677 MiB', '4 KiB', '1.5 GiB']));
      expect(l.text).toContain('1.32 GiB');
    });
  },
);

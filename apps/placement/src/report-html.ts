/**
 * A self-contained HTML report of a placement: the device map, the strategies' ledgers, and an
 * inline SVG bar chart of the peak bytes each strategy put on each device.
 *
 * @module
 */

import { ledgerDevices, type StrategyLedger } from '@x/migrate';

/**
 * What {@link renderReport} shows.
 *
 * @example
 * ```ts
 * const input: ReportInput = { checkpoint: 'model.pt', deviceMap: { '': 'cpu' }, results };
 * ```
 */
export interface ReportInput {
  /** Checkpoint shown in the title. */
  checkpoint: string;
  /** Module path -> device. */
  deviceMap: Record<string, string>;
  /** The strategies' ledgers, in order. */
  results: readonly StrategyLedger[];
}

const BAR = 28;
const GAP = 12;
const GROUP_GAP = 40;
const CHART_HEIGHT = 220;
const TOP = 30;
const BOTTOM = 60;
const LEFT = 20;
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<a href="x">'); // '&lt;a href=&quot;x&quot;&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/**
 * The bar chart: one group per strategy, one bar per device (every device any strategy touched,
 * 0 where it put nothing), bar height proportional to the peak bytes. Each bar is a
 * `<rect class="bar" data-strategy data-device data-bytes>` with a `<title>` and a label.
 *
 * @example
 * ```ts
 * const svg = barChart(results); // '<svg …><rect class="bar" data-strategy="map-location" data-device="cpu" data-bytes="7432" …'
 * ```
 */
function barChart(results: readonly StrategyLedger[]): string {
  const devices = ledgerDevices(results);
  const max = Math.max(1, ...results.flatMap((r) => devices.map((d) => r.peak[d] ?? 0)));
  const groupWidth = devices.length * (BAR + GAP) - GAP;
  const width = LEFT * 2 + results.length * groupWidth + Math.max(0, results.length - 1) * GROUP_GAP;
  const height = TOP + CHART_HEIGHT + BOTTOM;
  const parts: string[] = [];
  results.forEach((r, g) => {
    const x0 = LEFT + g * (groupWidth + GROUP_GAP);
    devices.forEach((d, i) => {
      const bytes = r.peak[d] ?? 0;
      const h = Math.round((bytes / max) * CHART_HEIGHT);
      const x = x0 + i * (BAR + GAP);
      const y = TOP + CHART_HEIGHT - h;
      const label = `${r.strategy} on ${d}: ${bytes} bytes`;
      parts.push(
        `<rect class="bar" data-strategy="${escapeHtml(r.strategy)}" data-device="${escapeHtml(d)}" data-bytes="${bytes}" x="${x}" y="${y}" width="${BAR}" height="${h}" fill="${COLORS[i % COLORS.length]}"><title>${escapeHtml(label)}</title></rect>`,
        `<text x="${x + BAR / 2}" y="${y - 4}" text-anchor="middle" font-size="10">${bytes}</text>`,
      );
    });
    const status = r.ok ? '' : ` (failed: ${r.error.code})`;
    parts.push(`<text x="${x0 + groupWidth / 2}" y="${TOP + CHART_HEIGHT + 18}" text-anchor="middle" font-size="12">${escapeHtml(r.strategy + status)}</text>`);
  });
  const legend = devices
    .map((d, i) => `<tspan fill="${COLORS[i % COLORS.length]}">■</tspan> ${escapeHtml(d)}`)
    .join('  ');
  parts.push(`<text x="${LEFT}" y="${TOP + CHART_HEIGHT + 44}" font-size="12">${legend}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="Peak bytes per device for each strategy">${parts.join('')}</svg>`;
}

/**
 * The whole report as one HTML document (no external resources).
 *
 * @example
 * ```ts
 * await writeFile('report.html', renderReport({ checkpoint: 'model.pt', deviceMap, results }));
 * ```
 */
export function renderReport(input: ReportInput): string {
  const devices = ledgerDevices(input.results);
  const mapRows = Object.entries(input.deviceMap)
    .map(([m, d]) => `<tr><td>${escapeHtml(m === '' ? '(all)' : m)}</td><td>${escapeHtml(d)}</td></tr>`)
    .join('');
  const ledgerRows = input.results
    .map((r) => {
      const peaks = devices.map((d) => `<td class="num">${r.peak[d] ?? 0}</td>`).join('');
      const result = r.ok ? 'ok' : `${escapeHtml(r.error.code)}: ${escapeHtml(r.error.message)}`;
      return `<tr><td><code>${escapeHtml(r.label)}</code></td><td class="num">${r.bytesRead}</td><td class="num">${r.bytesMoved}</td><td class="num">${r.copies}</td>${peaks}<td class="num">${r.wallMs.toFixed(1)}</td><td>${result}</td></tr>`;
    })
    .join('');
  const peakHeads = devices.map((d) => `<th>peak ${escapeHtml(d)}</th>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Placement of ${escapeHtml(input.checkpoint)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}.num{text-align:right}</style></head>
<body><h1>Placement of ${escapeHtml(input.checkpoint)}</h1>
<h2>Device map</h2><table><tr><th>module</th><th>device</th></tr>${mapRows}</table>
<h2>Peak bytes per device, by strategy</h2>${barChart(input.results)}
<h2>Ledgers</h2><table><tr><th>strategy</th><th>bytes read</th><th>bytes moved</th><th>copies</th>${peakHeads}<th>ms</th><th>result</th></tr>${ledgerRows}</table>
</body></html>
`;
}

/**
 * A self-contained HTML report of a placement: the device map, the strategies' ledgers, and an
 * inline SVG chart of the peak bytes each strategy put on each device. Sizes read as `7.26 KiB`
 * (the exact count is in each element's tooltip and `data-bytes`); chart labels get room computed
 * from their text, so nothing overlaps or leaves the chart (checked in Chromium by
 * `report-html.test.ts`).
 *
 * @module
 */

import { formatBytes } from '@x/device';
import type { StrategyLedger, StrategyName } from '@x/migrate';
import { ledgerDevices } from '@x/migrate/cli';
import { byteTicks } from './byte-scale.js';

/** What {@link renderReport} shows. */
export interface ReportInput {
  /** Checkpoint shown in the title. */
  checkpoint: string;
  /** Module path -> device. */
  deviceMap: Record<string, string>;
  /** The strategies' ledgers, in order. */
  results: readonly StrategyLedger[];
}

/** What each strategy does, in torch's terms. */
const WHAT: Record<StrategyName, string> = {
  'map-location': 'torch.load(f, map_location=target): every storage is read straight onto the target',
  'load-then-to':
    'torch.load(f) onto the devices the file was saved on, then model.to(target): needs those devices, and copies every byte',
  'device-map': 'the device map above: each submodule is read straight onto its own device',
};

const FONT = 13;
/** Width of one character at {@link FONT} px, rounded up over the common sans-serif fonts so estimates never fall short. */
const CHAR = 8;
const PAD = 16;
const ROW = 24;
const BAR = 14;
const GROUP_GAP = 14;
const PLOT = 420;
const AXIS = 28;
/** From a row's centre to the baseline of text centred on it. */
const BASELINE = Math.round(FONT * 0.35);
const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

/** Estimated rendered width of `text` at {@link FONT} px. */
const textWidth = (text: string): number => Math.ceil(text.length * CHAR);

/** `<td>` of a size: readable text, the exact count as tooltip and `data-bytes`. */
const sizeCell = (bytes: number): string =>
  `<td class="num" data-bytes="${bytes}" title="${bytes.toLocaleString('en-US')} bytes">${formatBytes(bytes)}</td>`;

const failure = (r: StrategyLedger): string => (r.ok ? '' : `failed: ${r.error.code}`);

/**
 * The chart: one group of rows per strategy (its name, and why it failed), one horizontal bar per
 * device any strategy touched, on a shared axis of round sizes. Each bar is a `<rect class="bar"
 * data-strategy data-device data-bytes>` (width 0 where nothing was placed) with a tooltip, and its
 * size printed after it.
 */
function barChart(results: readonly StrategyLedger[]): string {
  const devices = ledgerDevices(results);
  const ticks = byteTicks(Math.max(0, ...results.flatMap((r) => devices.map((d) => r.peak[d] ?? 0))));
  const top = ticks[ticks.length - 1]!;
  const strategyWidth = Math.max(...results.flatMap((r) => [r.strategy, failure(r)].map(textWidth)));
  const deviceWidth = Math.max(0, ...devices.map(textWidth));
  const x0 = PAD + strategyWidth + 16 + deviceWidth + 8;
  const valueWidth = Math.max(textWidth('1000 MiB'), textWidth(formatBytes(top)) / 2);
  const width = x0 + PLOT + 8 + valueWidth + PAD;
  const rows = (r: StrategyLedger): number => Math.max(devices.length, r.ok ? 1 : 2);
  const height = PAD + AXIS + results.reduce((h, r) => h + rows(r) * ROW + GROUP_GAP, 0) - GROUP_GAP + PAD;
  const x = (bytes: number): number => x0 + (bytes / top) * PLOT;

  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${PAD + AXIS - 6}" y2="${height - PAD}" stroke="#ddd"/>`,
      `<text class="tick" x="${x(t)}" y="${PAD + FONT}" text-anchor="middle" fill="#444">${formatBytes(t)}</text>`,
    );
  }
  let y = PAD + AXIS;
  results.forEach((r) => {
    const status = r.ok ? '' : ` (${failure(r)})`;
    parts.push(
      `<g class="strategy" data-strategy="${escapeHtml(r.strategy)}"><title>${escapeHtml(r.strategy + status)}</title>`,
    );
    parts.push(
      `<text class="label" x="${PAD}" y="${y + ROW / 2 + BASELINE}" font-weight="600">${escapeHtml(r.strategy)}</text>`,
    );
    if (!r.ok)
      parts.push(
        `<text class="label" x="${PAD}" y="${y + ROW + ROW / 2 + BASELINE}" fill="#b00020">${escapeHtml(failure(r))}</text>`,
      );
    devices.forEach((d, i) => {
      const bytes = r.peak[d] ?? 0;
      const cy = y + i * ROW + ROW / 2;
      const tip = `${r.strategy} on ${d}: ${formatBytes(bytes)} (${bytes.toLocaleString('en-US')} bytes)`;
      parts.push(
        `<text class="label" x="${x0 - 8}" y="${cy + BASELINE}" text-anchor="end">${escapeHtml(d)}</text>`,
        `<rect class="bar" data-strategy="${escapeHtml(r.strategy)}" data-device="${escapeHtml(d)}" data-bytes="${bytes}" x="${x0}" y="${cy - BAR / 2}" width="${x(bytes) - x0}" height="${BAR}" fill="${COLORS[i % COLORS.length]}"><title>${escapeHtml(tip)}</title></rect>`,
      );
      if (r.ok) parts.push(`<text class="value" x="${x(bytes) + 6}" y="${cy + BASELINE}">${formatBytes(bytes)}</text>`);
    });
    if (!r.ok)
      parts.push(`<text class="value" x="${x0 + 6}" y="${y + ROW / 2 + BASELINE}" fill="#666">nothing placed</text>`);
    parts.push('</g>');
    y += rows(r) * ROW + GROUP_GAP;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="${FONT}" role="img" aria-label="Peak bytes per device for each strategy">${parts.join('')}</svg>`;
}

/** The device map, what it puts on each device (as the device-map strategy measured it), and a note when it is one device. */
function deviceMapSection(input: ReportInput): string {
  const rows = Object.entries(input.deviceMap)
    .map(
      ([m, d]) =>
        `<tr><td><code>${escapeHtml(m === '' ? '(whole model)' : m)}</code></td><td>${escapeHtml(d)}</td></tr>`,
    )
    .join('');
  const measured = input.results.find((r) => r.strategy === 'device-map' && r.ok);
  const totals =
    measured === undefined
      ? ''
      : `<p>Measured: ${Object.entries(measured.final)
          .filter(([, b]) => b > 0)
          .map(
            ([d, b]) =>
              `<span data-bytes="${b}" title="${b.toLocaleString('en-US')} bytes">${formatBytes(b)}</span> on ${escapeHtml(d)}`,
          )
          .join(', ')}.</p>`;
  const targets = new Set(Object.values(input.deviceMap));
  const one =
    targets.size === 1
      ? `<p class="note">Every module goes to ${escapeHtml([...targets][0]!)}: no memory limit made the planner split the model. ` +
        'Give budgets below the model&#39;s size (<code>--max-memory</code>) or an explicit <code>--map</code> to spread it over devices; ' +
        'with one device the device-map strategy places the whole model there, as map-location does onto its target.</p>'
      : '';
  return `<h2>Device map</h2><table><tr><th>module</th><th>device</th></tr>${rows}</table>${totals}${one}`;
}

/** The strategies side by side, sizes readable, each error's full text under the table. */
function ledgerSection(results: readonly StrategyLedger[]): string {
  const devices = ledgerDevices(results);
  const rows = results
    .map((r) => {
      const peaks = devices.map((d) => sizeCell(r.peak[d] ?? 0)).join('');
      const result = r.ok ? 'ok' : `<span class="failed">${escapeHtml(failure(r))}</span>`;
      return (
        `<tr data-strategy="${escapeHtml(r.strategy)}"><td><strong>${escapeHtml(r.strategy)}</strong><br><code>${escapeHtml(r.label)}</code><div class="what">${escapeHtml(WHAT[r.strategy])}</div></td>` +
        `${sizeCell(r.bytesRead)}${sizeCell(r.bytesMoved)}<td class="num">${r.copies}</td>${peaks}<td class="num">${r.wallMs.toFixed(1)}</td><td>${result}</td></tr>`
      );
    })
    .join('');
  const errors = results
    .flatMap((r) =>
      r.ok
        ? []
        : [
            `<li><strong>${escapeHtml(r.strategy)}</strong>: <code>${escapeHtml(r.error.code)}</code> ${escapeHtml(r.error.message)}</li>`,
          ],
    )
    .join('');
  const heads = devices.map((d) => `<th>peak on ${escapeHtml(d)}</th>`).join('');
  return (
    `<h2>Ledgers</h2><table class="ledgers"><tr><th>strategy</th><th>bytes read</th><th>bytes moved</th><th>copies</th>${heads}<th>ms</th><th>result</th></tr>${rows}</table>` +
    (errors === '' ? '' : `<ul class="errors">${errors}</ul>`)
  );
}

/** The whole report as one HTML document (no external resources). */
export function renderReport(input: ReportInput): string {
  const name = input.checkpoint.split(/[\\/]/).pop() || input.checkpoint;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Placement of ${escapeHtml(name)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1{margin-bottom:.2em}.path{color:#555;margin-top:0;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{overflow-wrap:anywhere}.what{color:#555;font-size:.9em;max-width:32em}
.failed{color:#b00020}.note{background:#fff8e1;border-left:4px solid #f2b01e;padding:.5em 1em;max-width:60em}
svg{max-width:100%;height:auto;display:block}
</style></head>
<body><h1>Placement of ${escapeHtml(name)}</h1><p class="path"><code>${escapeHtml(input.checkpoint)}</code></p>
${deviceMapSection(input)}
<h2>Peak bytes per device, by strategy</h2>${barChart(input.results)}
${ledgerSection(input.results)}
</body></html>
`;
}

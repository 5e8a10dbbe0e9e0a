/**
 * Plain-text tables for terminals: device plans and strategy ledgers.
 *
 * @module
 */

import { quote } from '@x/device';
import type { StrategyLedger } from '../compare-strategies.js';
import type { DevicePlan, SizeEntry } from '../device-map/plan.js';

/**
 * Lays out rows under a header, columns padded to their widest cell; columns listed in
 * `right` are right-aligned (numbers).
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { right?: readonly number[] } = {},
): string {
  const right = new Set(options.right ?? []);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Every device touched by the strategies, in first-seen order. */
export function ledgerDevices(results: readonly StrategyLedger[]): string[] {
  return [...new Set(results.flatMap((r) => Object.keys(r.peak)))];
}

/**
 * The ledgers of `compareStrategies` side by side: bytes read, bytes moved, copies, the peak
 * bytes on each device, wall time; a failed strategy shows its error code, and its message is
 * printed under the table.
 */
export function formatLedgers(results: readonly StrategyLedger[]): string {
  const devices = ledgerDevices(results);
  const header = [
    'strategy',
    'bytes read',
    'bytes moved',
    'copies',
    ...devices.map((d) => `peak ${d}`),
    'ms',
    'result',
  ];
  const rows = results.map((r) => [
    r.label,
    String(r.bytesRead),
    String(r.bytesMoved),
    String(r.copies),
    ...devices.map((d) => String(r.peak[d] ?? 0)),
    r.wallMs.toFixed(1),
    r.ok ? 'ok' : `failed: ${r.error.code}`,
  ]);
  const right = header.map((_, i) => i).filter((i) => i > 0 && i < header.length - 1);
  const notes = results.flatMap((r) => (r.ok ? [] : [`${r.label}: ${r.error.code}: ${r.error.message}`]));
  return [formatTable(header, rows, { right }), ...notes].join('\n');
}

/**
 * A device plan as a table: one row per device-map entry (module, device, bytes of the tensors
 * under it, a tied tensor once), then the total per device and its budget.
 */
export function formatPlan(plan: DevicePlan, entries: readonly SizeEntry[]): string {
  const bytesUnder = (module: string): number =>
    entries
      .filter((e) => e.tiedTo === undefined && (module === '' || e.name === module || e.name.startsWith(`${module}.`)))
      .reduce((n, e) => n + e.bytes, 0);
  const rows = Object.entries(plan.deviceMap).map(([module, d]) => [
    module === '' ? '(all)' : quote(module, ''),
    d,
    String(bytesUnder(module)),
  ]);
  const totals = Object.entries(plan.budgets).map(([d, budget]) => [d, String(plan.totals[d] ?? 0), String(budget)]);
  return [
    formatTable(['module', 'device', 'bytes'], rows, { right: [2] }),
    '',
    formatTable(['device', 'bytes', 'budget'], totals, { right: [1, 2] }),
    `model: ${plan.modelBytes} bytes`,
  ].join('\n');
}

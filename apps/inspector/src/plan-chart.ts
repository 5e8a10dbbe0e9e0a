/** Bytes per device per strategy as a horizontal bar chart: budget outline, used bytes filled, readable sizes. */
import { formatBytes } from '@x/device';
import { svg } from './svg.js';

/** One strategy's bars. */
export interface StrategyBars {
  readonly label: string;
  readonly devices: readonly { readonly device: string; readonly bytes: number; readonly budget: number }[];
}

const WIDTH = 720;
const LABEL_W = 110;
const VALUE_W = 190;
const BAR_H = 18;
const GAP = 6;
const TITLE_H = 24;

/** The chart; bars share one scale (the largest budget or total). */
export function planChart(strategies: readonly StrategyBars[]): SVGElement {
  const scaleMax = Math.max(1, ...strategies.flatMap((s) => s.devices.flatMap((d) => [d.bytes, d.budget])));
  const plotW = WIDTH - LABEL_W - VALUE_W;
  const height = strategies.reduce((h, s) => h + TITLE_H + s.devices.length * (BAR_H + GAP), 0) + GAP;
  const root = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${height}`,
    class: 'plan-chart',
    role: 'img',
    'aria-label': 'bytes per device per strategy',
  });
  let y = 0;
  for (const s of strategies) {
    root.append(svg('text', { x: 8, y: y + 17, class: 'strategy' }, s.label));
    y += TITLE_H;
    s.devices.forEach((d, i) => {
      const w = (d.bytes / scaleMax) * plotW;
      const budgetW = (d.budget / scaleMax) * plotW;
      root.append(svg('text', { x: LABEL_W - 8, y: y + BAR_H - 4, 'text-anchor': 'end', class: 'device' }, d.device));
      root.append(svg('rect', { x: LABEL_W, y, width: Math.max(budgetW, 1), height: BAR_H, class: 'budget' }));
      root.append(
        svg('rect', {
          x: LABEL_W,
          y,
          width: w,
          height: BAR_H,
          class: `used d${i % 6}`,
          'data-device': d.device,
          'data-bytes': d.bytes,
        }),
      );
      root.append(
        svg(
          'text',
          { x: LABEL_W + plotW + 8, y: y + BAR_H - 4, class: 'value' },
          `${formatBytes(d.bytes)} of ${formatBytes(d.budget)}`,
        ),
      );
      y += BAR_H + GAP;
    });
  }
  return root;
}

/** The histogram of a tensor's values as an SVG bar chart with labelled axes. */
import { formatValue } from './format.js';
import { svg } from './svg.js';

const WIDTH = 560;
const HEIGHT = 220;
const MARGIN = { left: 64, right: 16, top: 12, bottom: 40 };

/** Bars of `counts` over `[min, max]`; the y axis is the largest count. */
export function histogramChart(counts: readonly number[], min: number, max: number): SVGElement {
  const root = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'histogram',
    role: 'img',
    'aria-label': `histogram of ${counts.length} bins from ${formatValue(min)} to ${formatValue(max)}`,
  });
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = Math.max(1, ...counts);
  const barW = plotW / counts.length;
  counts.forEach((c, i) => {
    const h = (c / top) * plotH;
    const lo = min + ((max - min) * i) / counts.length;
    const bar = svg('rect', {
      x: MARGIN.left + i * barW + 0.5,
      y: MARGIN.top + plotH - h,
      width: Math.max(barW - 1, 0.5),
      height: h,
      class: 'bar',
    });
    bar.append(svg('title', {}, `[${formatValue(lo)}, ${formatValue(lo + (max - min) / counts.length)}): ${c}`));
    root.append(bar);
  });
  const axisY = MARGIN.top + plotH;
  root.append(svg('line', { x1: MARGIN.left, y1: axisY, x2: WIDTH - MARGIN.right, y2: axisY, class: 'axis' }));
  root.append(svg('line', { x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: axisY, class: 'axis' }));
  const ticks: [number, string][] = [
    [0, formatValue(min)],
    [0.5, formatValue((min + max) / 2)],
    [1, formatValue(max)],
  ];
  for (const [f, label] of ticks) {
    const x = MARGIN.left + f * plotW;
    root.append(
      svg(
        'text',
        { x, y: axisY + 18, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle', class: 'tick' },
        label,
      ),
    );
  }
  root.append(
    svg(
      'text',
      { x: MARGIN.left - 6, y: MARGIN.top + 10, 'text-anchor': 'end', class: 'tick' },
      top.toLocaleString('en-US'),
    ),
  );
  root.append(svg('text', { x: MARGIN.left - 6, y: axisY, 'text-anchor': 'end', class: 'tick' }, '0'));
  root.append(
    svg(
      'text',
      { x: MARGIN.left + plotW / 2, y: HEIGHT - 4, 'text-anchor': 'middle', class: 'label' },
      'value (finite elements)',
    ),
  );
  return root;
}

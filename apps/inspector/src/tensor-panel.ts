/** The selected tensor: its description, and statistics with a histogram on the chosen backend. */
import type { Checkpoint, CheckpointEntry, Materialised } from '@x/checkpoint';
import { formatBytes, type DeviceRuntime } from '@x/device';
import { errorBox } from './errors-view.js';
import { formatMs, formatShape, formatValue } from './format.js';
import { histogramChart } from './histogram-chart.js';
import { disposePlaced, valuesTensor } from './placed-values.js';
import { html } from './svg.js';
import { tensorStats, type TensorStats } from './tensor-stats.js';

let latest = 0;

/** The panel for `entry`; statistics fill in when computed (a later selection supersedes them). */
export function tensorPanel(
  ckpt: Checkpoint,
  entry: CheckpointEntry,
  runtime: DeviceRuntime,
  devices: readonly string[],
): HTMLElement {
  const select = html(
    'select',
    { class: 'stats-device', 'aria-label': 'backend for statistics' },
    ...devices.map((d) => html('option', { value: d }, d)),
  );
  select.value = devices.includes('cpu') ? 'cpu' : (devices[0] ?? 'cpu');
  const result = html('div', { class: 'stats-result' });
  const panel = html(
    'div',
    { 'data-name': entry.name },
    html('h2', {}, entry.name),
    html(
      'dl',
      { class: 'stats' },
      ...pairs([
        ['dtype', entry.dtype],
        ['shape', formatShape(entry.shape)],
        ['bytes', `${formatBytes(entry.byteLength)} (${entry.byteLength.toLocaleString('en-US')})`],
        ['saved on', entry.location],
        ['kind', entry.kind],
      ]),
    ),
    html('label', {}, 'Compute on ', select),
    result,
  );
  select.addEventListener('change', () => void compute(ckpt, entry, runtime, select.value, result));
  void compute(ckpt, entry, runtime, select.value, result);
  return panel;
}

async function compute(
  ckpt: Checkpoint,
  entry: CheckpointEntry,
  runtime: DeviceRuntime,
  device: string,
  out: HTMLElement,
): Promise<void> {
  const mine = ++latest;
  const started = performance.now();
  document.body.dataset.stats = 'computing';
  out.replaceChildren(html('p', { class: 'hint' }, `Reading and computing on ${device}…`));
  let value: Materialised | undefined;
  try {
    value = await ckpt.tensor(entry.name, { device });
    const tensor = valuesTensor(value, runtime.tf);
    if (tensor === undefined) {
      out.replaceChildren(html('p', { class: 'hint' }, 'A meta tensor: shape and dtype only, no values.'));
      return;
    }
    if (tensor.dtype === 'complex64' || tensor.dtype === 'string') {
      out.replaceChildren(html('p', { class: 'hint' }, `No statistics for ${tensor.dtype} values.`));
      return;
    }
    await runtime.tf.setBackend(runtime.backendName(device)!);
    const stats = await tensorStats(runtime.tf, tensor);
    if (mine !== latest) return;
    const ms = performance.now() - started;
    out.replaceChildren(statsView(stats, device, ms));
    document.body.dataset.histogramMs = ms.toFixed(1);
  } catch (e) {
    if (mine === latest) out.replaceChildren(errorBox(e, 'Could not read this tensor:'));
  } finally {
    if (value !== undefined) disposePlaced(value, runtime);
    if (mine === latest) document.body.dataset.stats = 'done';
  }
}

function pairs(items: readonly [string, string][]): HTMLElement[] {
  return items.flatMap(([k, v]) => [html('dt', {}, k), html('dd', {}, v)]);
}

function statsView(s: TensorStats, device: string, ms: number): HTMLElement {
  return html(
    'div',
    { class: 'computed', 'data-device': device },
    html(
      'dl',
      { class: 'stats' },
      ...pairs([
        ['min', formatValue(s.min)],
        ['max', formatValue(s.max)],
        ['mean', formatValue(s.mean)],
        ['std', formatValue(s.std)],
        ['NaN', s.nan.toLocaleString('en-US')],
        ['+Inf / −Inf', `${s.posInf.toLocaleString('en-US')} / ${s.negInf.toLocaleString('en-US')}`],
        ['elements', s.count.toLocaleString('en-US')],
        ['time', `${formatMs(ms)} on ${device}`],
      ]),
    ),
    histogramChart(s.histogram, s.min, s.max),
  );
}

/**
 * A device-map plan for memory limits the user types (accelerate's algorithm from `@x/migrate`),
 * run for every strategy and drawn as bytes per device per strategy.
 */
import type { Checkpoint, CheckpointEntry } from '@x/checkpoint';
import { dtypeInfo, formatBytes, tfItemSize } from '@x/device';
import { planDeviceMap, type DevicePlan, type PlanStrategy, type SizeEntry } from '@x/migrate';
import { parseMaxMemory } from '@x/migrate/cli';
import { errorBox } from './errors-view.js';
import { planChart, type StrategyBars } from './plan-chart.js';
import { html } from './svg.js';
import { yieldToPage } from './yield-to-page.js';

/** `auto` and `balanced` are one plan (as in accelerate), shown once. */
const STRATEGIES: readonly [PlanStrategy, string][] = [
  ['auto', 'auto / balanced'],
  ['balanced_low_0', 'balanced_low_0'],
  ['sequential', 'sequential'],
];

/**
 * Planner sizes: bytes each tensor takes once in TF.js (float16 widens to 4 bytes per element), the
 * file's bytes for tensors TF.js has no dtype for; a second name of one tensor is tied to the first.
 */
function plannerSizes(entries: readonly CheckpointEntry[]): SizeEntry[] {
  const firstName = new Map<object, string>();
  const sizes: SizeEntry[] = [];
  for (const { ref, name, dtype, shape, byteLength } of entries) {
    const tiedTo = firstName.get(ref);
    if (tiedTo !== undefined) {
      sizes.push({ name, bytes: 0, tiedTo });
      continue;
    }
    firstName.set(ref, name);
    const tf = dtypeInfo(dtype).tf;
    sizes.push({ name, bytes: tf === undefined ? byteLength : shape.reduce((a, b) => a * b, 1) * tfItemSize(tf) });
  }
  return sizes;
}

/** Models with more tensors are planned on request only (each strategy takes a moment of the page's time). */
const AUTO_PLAN_TENSORS = 2000;

/** Default limits: each accelerator a third of the model (in whole MiB), cpu room for all of it. */
function defaultLimits(devices: readonly string[], modelBytes: number): string {
  const mib = 2 ** 20;
  const third = Math.max(1, Math.ceil(modelBytes / 3 / mib));
  const all = Math.max(1, Math.ceil((modelBytes * 1.25) / mib));
  return devices.map((d) => `${d}=${d === 'cpu' ? all : third}MiB`).join(', ');
}

/** The plan panel for `ckpt`. */
export function planPanel(ckpt: Checkpoint, devices: readonly string[]): HTMLElement {
  const sizes = plannerSizes(ckpt.entries);
  const modelBytes = sizes.reduce((s, e) => s + e.bytes, 0);
  const limits = html('input', {
    type: 'text',
    class: 'limits',
    'aria-label': 'memory limits',
    value: defaultLimits(devices, modelBytes),
    size: '60',
  });
  const run = html('button', { type: 'submit' }, 'Plan');
  const out = html('div', { class: 'plan-out' });
  const form = html(
    'form',
    { class: 'plan-form' },
    html('label', {}, 'Memory limits (device=size, …) ', limits),
    ' ',
    run,
  );
  let drawing = 0;
  /** Plans every strategy, giving the page a turn before each (a large model takes a while). */
  const draw = async (): Promise<void> => {
    const mine = ++drawing;
    out.replaceChildren(html('p', { class: 'hint' }, 'Planning…'));
    let maxMemory: Record<string, string | number>;
    try {
      maxMemory = parseMaxMemory(limits.value);
    } catch (e) {
      out.replaceChildren(errorBox(e, 'memory limits:'));
      return;
    }
    const bars: StrategyBars[] = [];
    const failures: HTMLElement[] = [];
    const maps: HTMLElement[] = [];
    for (const [strategy, label] of STRATEGIES) {
      await yieldToPage();
      if (mine !== drawing) return;
      let plan: DevicePlan;
      try {
        plan = planDeviceMap(sizes, { strategy, maxMemory });
      } catch (e) {
        failures.push(errorBox(e, `${label}:`));
        continue;
      }
      bars.push({
        label,
        devices: Object.keys(plan.budgets).map((d) => ({
          device: d,
          bytes: plan.totals[d] ?? 0,
          budget: plan.budgets[d] ?? 0,
        })),
      });
      maps.push(deviceMapList(label, plan));
    }
    out.replaceChildren(
      html('p', {}, `Model: ${formatBytes(modelBytes)} once in TF.js (${sizes.length} tensors).`),
      ...(bars.length > 0 ? [planChart(bars)] : []),
      ...failures,
      ...maps,
    );
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void draw();
  });
  if (sizes.length <= AUTO_PLAN_TENSORS) void draw();
  else
    out.replaceChildren(
      html(
        'p',
        { class: 'hint' },
        `${sizes.length.toLocaleString('en-US')} tensors: press Plan to plan every strategy.`,
      ),
    );
  return html('section', { class: 'plan' }, html('h2', {}, 'Device map plan'), form, out);
}

function deviceMapList(label: string, plan: DevicePlan): HTMLElement {
  const entries = Object.entries(plan.deviceMap);
  return html(
    'details',
    {},
    html('summary', {}, `${label}: device_map with ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}`),
    html(
      'ul',
      { class: 'device-map' },
      ...entries.map(([module, d]) =>
        html('li', {}, html('code', {}, module === '' ? '(whole model)' : module), ` → ${d}`),
      ),
    ),
  );
}

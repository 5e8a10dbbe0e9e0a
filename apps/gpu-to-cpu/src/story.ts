/**
 * The gpu-to-cpu story, step by step: a checkpoint saved on a GPU meets a machine without one.
 *
 * @module
 */

import type { Tensor } from '@tensorflow/tfjs-core';
import { load } from '@x/checkpoint';
import type { DeviceRuntime, Placed } from '@x/device';
import {
  callOn,
  compareStrategies,
  loadModule,
  loadWithDeviceMap,
  Module,
  type DeviceMap,
  type StrategyLedger,
} from '@x/migrate';
import { formatLedgers } from '@x/migrate/cli';
import type { Batch, Layer } from './batch.js';
import { argmaxRows, maxAbsDiff, runLayers } from './cnn.js';

/** How an attempt ended: an error code and message, or success. */
export type Outcome = { ok: true } | { ok: false; code: string; message: string };

/** A forward pass compared with PyTorch's logits. */
export interface Run {
  /** Logits, row-major `[batch, classes]`. */
  logits: Float32Array;
  /** Largest |ours − PyTorch's|. */
  maxAbsDiff: number;
  /** Predicted class per sample. */
  predictions: number[];
  /** Device of each top-level submodule's tensors. */
  devices: Record<string, string>;
}

/** Everything the story found out. */
export interface StoryResult {
  /** (a) `load(file)` with no `mapLocation`. */
  withoutMapLocation: Outcome;
  /** (b) `load(file)` then `.to('cpu')`. */
  loadThenTo: Outcome;
  /** (c) `load(file, { mapLocation: 'cpu' })`, run. */
  cpu: Run;
  /** (d) features and classifier on two devices, run. */
  split: Run;
  /** (e) the strategies on this machine, and with a stand-in GPU (cuda:0 bound to the wasm backend). */
  ledgers: { machine: StrategyLedger[]; standIn: StrategyLedger[] };
}

/** Options of {@link runStory}. */
export interface StoryOptions {
  /** The checkpoint (storages saved on `cuda:0`). */
  modelPath: string;
  /** Architecture, inputs and PyTorch's logits. */
  batch: Batch;
  /** This machine's devices. */
  runtime: DeviceRuntime;
  /** A runtime where `cuda:0` exists (bound to a TF.js backend standing in for a GPU). */
  standIn: DeviceRuntime;
  /** Where the split model goes on `runtime`, e.g. `{ features: 'wasm', classifier: 'cpu' }`. */
  splitMap: DeviceMap;
  /** Receives the story, one line at a time. */
  log: (line: string) => void;
}

/**
 * Tells the story in order and returns what happened: (a) loading without `mapLocation` fails
 * with torch's message, (b) so does loading then `.to('cpu')`, (c) `mapLocation: 'cpu'` loads and
 * the CNN reproduces PyTorch's logits, (d) the model split over two devices predicts the same,
 * (e) the ledgers of all strategies.
 */
export async function runStory(options: StoryOptions): Promise<StoryResult> {
  const { modelPath, batch, runtime, standIn, splitMap, log } = options;
  const saved = 'cuda:0';

  log(`(a) load('model.pt') — every storage was saved on ${saved}; this machine has: ${devicesOf(runtime)}`);
  const withoutMapLocation = await attempt(async () => {
    const { value } = await load(modelPath, { runtime });
    disposeAll(value as Map<string, Placed>, runtime);
  });
  log(describeOutcome(withoutMapLocation));

  log(`(b) load('model.pt').to('cpu') — the first step already needs ${saved}`);
  const loadThenTo = await attempt(async () => {
    const { module } = await loadModule(modelPath, { runtime });
    module.to('cpu', runtime);
    disposeModule(module, runtime);
  });
  log(describeOutcome(loadThenTo));

  log(`(c) load('model.pt', { mapLocation: 'cpu' }) — each storage goes from the file straight to the cpu`);
  const direct = await loadModule(modelPath, { runtime, mapLocation: 'cpu', className: 'AppCNN' });
  const cpu = await run(direct.module, batch, runtime);
  disposeModule(direct.module, runtime);
  log(
    `    ${direct.report.bytesRead} bytes read, ${direct.report.ledger.bytesMoved} bytes moved; logits vs PyTorch: max abs diff ${cpu.maxAbsDiff.toExponential(2)}`,
  );
  log(`    predictions ${cpu.predictions.join(' ')} (labels ${batch.labels.join(' ')})`);

  log(`(d) the same model split over two devices: ${JSON.stringify(splitMap)}`);
  const placed = await loadWithDeviceMap(modelPath, splitMap, { runtime, className: 'AppCNN' });
  const split = await run(placed.module, batch, runtime);
  disposeModule(placed.module, runtime);
  const same = split.predictions.every((p, i) => p === cpu.predictions[i]);
  log(
    `    ${Object.entries(split.devices)
      .map(([m, d]) => `${m} on ${d}`)
      .join(
        ', ',
      )}; max abs diff vs PyTorch ${split.maxAbsDiff.toExponential(2)}; same predictions as (c): ${same ? 'yes' : 'NO'}`,
  );

  log(`(e) what each strategy costs, target cpu — on this machine:`);
  const machine = await compareStrategies(modelPath, 'cpu', { runtime, deviceMap: splitMap });
  log(indent(formatLedgers(machine)));
  const standInMap = Object.fromEntries(Object.entries(splitMap).map(([m, d]) => [m, d === 'cpu' ? 'cpu' : saved]));
  log(`    …and where ${saved} exists (a stand-in GPU: the wasm backend bound to cuda):`);
  const withGpu = await compareStrategies(modelPath, 'cpu', { runtime: standIn, deviceMap: standInMap });
  log(indent(formatLedgers(withGpu)));
  const [viaMap, twoStep] = withGpu;
  if (viaMap?.ok && twoStep?.ok) {
    log(
      `    load().to('cpu') moved ${twoStep.bytesMoved - viaMap.bytesMoved} bytes more than mapLocation: 'cpu' — every tensor byte once more — and peaked at ${twoStep.peak[saved] ?? 0} bytes on ${saved}.`,
    );
  }
  return { withoutMapLocation, loadThenTo, cpu, split, ledgers: { machine, standIn: withGpu } };
}

/** Runs the CNN on the batch, each top-level submodule on its own device (inputs moved there). */
async function run(model: Module, batch: Batch, runtime: DeviceRuntime): Promise<Run> {
  const images = runtime.place(new Float32Array(batch.input), batch.input_shape, 'float32', 'cpu') as Tensor;
  const parts = segments(batch.architecture, model);
  let x: Tensor = images;
  for (const { prefix, layers } of parts) {
    const sub = model.get(prefix) as Module;
    const next = await callOn(
      sub,
      x,
      (input, m) =>
        runLayers(runtime.tf, layers, (layer, p) => m.get(`${layer.slice(prefix.length + 1)}.${p}`) as Tensor, input),
      runtime,
    );
    if (x !== images) runtime.dispose(x);
    x = next;
  }
  const logits = (await x.data()) as Float32Array;
  runtime.dispose(x);
  runtime.dispose(images);
  const classes = batch.logits_shape[1] as number;
  const devices = Object.fromEntries(
    parts.map(({ prefix }) => [prefix, (model.get(prefix) as Module).devices(runtime).join('+')]),
  );
  return { logits, maxAbsDiff: maxAbsDiff(logits, batch.logits), predictions: argmaxRows(logits, classes), devices };
}

/**
 * The layers grouped by the top-level submodule holding their parameters; a layer without one
 * (`flatten`) runs with the next submodule.
 */
function segments(layers: readonly Layer[], model: Module): { prefix: string; layers: Layer[] }[] {
  const out: { prefix: string; layers: Layer[] }[] = [];
  let pending: Layer[] = [];
  for (const layer of layers) {
    const top = layer.name.split('.')[0] as string;
    if (!(model.get(top) instanceof Module)) {
      pending.push(layer);
      continue;
    }
    const last = out[out.length - 1];
    if (last?.prefix === top && pending.length === 0) last.layers.push(layer);
    else out.push({ prefix: top, layers: [...pending, layer] });
    pending = [];
  }
  if (pending.length > 0)
    throw new Error(`layers ${pending.map((l) => l.name).join(', ')} come after the last submodule`);
  return out;
}

async function attempt(fn: () => Promise<void>): Promise<Outcome> {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    return {
      ok: false,
      code: String((e as { code?: unknown }).code ?? 'ERROR'),
      message: e instanceof Error ? e.message : String(e),
    };
  }
}

function describeOutcome(o: Outcome): string {
  return o.ok ? '    loaded: this machine has the saved device' : `    ${o.code}: ${o.message}`;
}

function devicesOf(runtime: DeviceRuntime): string {
  return ['cpu', 'wasm', 'cuda'].filter((t) => runtime.deviceCount(t) > 0).join(', ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function disposeModule(module: Module, runtime: DeviceRuntime): void {
  for (const { tensor } of module.namedTensors()) runtime.dispose(tensor);
}

function disposeAll(stateDict: Map<string, Placed>, runtime: DeviceRuntime): void {
  for (const t of new Set(stateDict.values())) runtime.dispose(t);
}

/**
 * Plan (or take) a device map for a checkpoint, measure the placement strategies, and render the
 * report.
 *
 * @module
 */

import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeviceRuntime } from '@x/device';
import {
  compareStrategies,
  planCheckpoint,
  type DeviceMap,
  type MemorySize,
  type PlanStrategy,
  type StrategyLedger,
} from '@x/migrate';
import { formatLedgers, formatPlan, formatTable } from '@x/migrate/cli';
import { renderReport } from './report-html.js';

/** The gpu-to-cpu app's CNN, used when no checkpoint is given. */
export const DEFAULT_CHECKPOINT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'gpu-to-cpu',
  'assets',
  'model.pt',
);

/** Options of {@link runPlacement}. */
export interface PlacementOptions {
  /** The checkpoint file. */
  checkpoint: string;
  /** Devices and backends measured. */
  runtime: DeviceRuntime;
  /** Where the whole model goes for the map-location and load-then-to strategies. */
  target: string;
  /** An explicit device map; when absent one is planned under `maxMemory`. */
  deviceMap?: DeviceMap;
  /** Budgets per device for the planner, e.g. `{ wasm: 7400, cpu: '1GiB' }`. */
  maxMemory: Record<string, MemorySize>;
  /** Planner strategy (default `'auto'`). */
  strategy?: PlanStrategy;
  /** Module globs the planner must not split. */
  noSplit?: readonly string[];
  /** Where to write the HTML report; none when absent. */
  out?: string;
  /** Receives the printed report. */
  log: (text: string) => void;
}

/** Result of {@link runPlacement}. */
export interface PlacementResult {
  /** The device map used. */
  deviceMap: Record<string, string>;
  /** The strategies' ledgers. */
  results: StrategyLedger[];
  /** The HTML report. */
  html: string;
}

/**
 * Plans a device map from the checkpoint's metadata (or takes the given one), runs
 * `compareStrategies` with it, prints the map and the ledgers, and writes the HTML report.
 */
export async function runPlacement(options: PlacementOptions): Promise<PlacementResult> {
  const { checkpoint, runtime, target, log } = options;
  let deviceMap: Record<string, string>;
  if (options.deviceMap === undefined) {
    const { plan, entries } = await planCheckpoint(checkpoint, {
      maxMemory: options.maxMemory,
      ...(options.strategy === undefined ? {} : { strategy: options.strategy }),
      ...(options.noSplit === undefined ? {} : { noSplit: options.noSplit }),
    });
    deviceMap = plan.deviceMap;
    log(
      `planned device map (${options.strategy ?? 'auto'}, max memory ${JSON.stringify(options.maxMemory)}):\n${formatPlan(plan, entries)}\n`,
    );
  } else {
    deviceMap = Object.fromEntries(Object.entries(options.deviceMap).map(([k, v]) => [k, String(v)]));
    log(`device map:\n${formatTable(['module', 'device'], Object.entries(deviceMap))}\n`);
  }
  const results = await compareStrategies(checkpoint, target, { runtime, deviceMap });
  log(`strategies, target ${target}:\n${formatLedgers(results)}`);
  const html = renderReport({ checkpoint, deviceMap, results });
  if (options.out !== undefined) {
    await writeFile(options.out, html);
    log(`\nreport: ${options.out}`);
  }
  return { deviceMap, results, html };
}

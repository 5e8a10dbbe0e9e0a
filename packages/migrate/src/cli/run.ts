/**
 * `x-migrate`: relocate a checkpoint's saved devices, plan a device map, compare placement
 * strategies. The frame is `@x/checkpoint/cli`'s, shared with `x-checkpoint`: exit 0 success,
 * 1 a finding (`compare`: a strategy that should work failed), 2 a usage or input error; one
 * `x-migrate: CODE: message` line per failure, never a stack trace; `--help`, `--version`. Each
 * command imports its implementation when it runs, so the others' modules are not loaded.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import {
  EXIT,
  expectArgs,
  MAP_LOCATION_OPTION,
  oneOf,
  parseDevice,
  parseMapLocation,
  progressDisplay,
  runTool,
  UNKNOWN_CLASSES_OPTION,
  unknownClasses,
  UsageError,
  type CliIO,
  type Command,
  type Tool,
} from '@x/checkpoint/cli';
import { createDeviceRuntime } from '@x/device';
import { parseAssignments, parseMaxMemory } from './specs.js';
import type { StrategyLedger } from '../compare-strategies.js';
import { formatLedgers, formatPlan, formatTable } from './format-table.js';
import type { PlanSizing } from '../device-map/plan-checkpoint.js';
import type { PlanStrategy } from '../device-map/plan.js';

/** Where the CLI writes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The terminal live progress is drawn on (stderr when it is a TTY). */
  readonly progress?: CliIO['progress'];
}

const STRATEGIES = ['auto', 'balanced', 'balanced_low_0', 'sequential'] as const;
const SIZINGS = ['tfjs', 'torch'] as const;

const relocateCommand: Command = {
  args: 'IN OUT',
  summary: 'rewrite the saved location of every storage, so a plain torch.load(OUT) restores them there',
  options: {
    'map-location': { ...MAP_LOCATION_OPTION, description: `${MAP_LOCATION_OPTION.description} (required)` },
    'unknown-classes': UNKNOWN_CLASSES_OPTION,
  },
  async run(positionals, values, io) {
    const [input, output] = expectArgs(positionals, ['IN', 'OUT']) as [string, string];
    const spec = values['map-location'];
    if (typeof spec !== 'string') throw new UsageError('relocate needs --map-location, e.g. --map-location cpu');
    const mapLocation = parseMapLocation(spec);
    const { relocateCheckpoint } = await import('../relocate/relocate-file.js');
    const bar = progressDisplay(io, values, 'relocate');
    let report: Awaited<ReturnType<typeof relocateCheckpoint>>;
    try {
      report = await relocateCheckpoint(input, output, mapLocation, {
        unknownClasses: unknownClasses(values),
        ...(bar === undefined ? {} : { onProgress: bar.onProgress }),
      });
    } finally {
      bar?.stop();
    }
    if (values.json === true) {
      io.out(JSON.stringify(report));
      return EXIT.ok;
    }
    const rows = report.storages.map((s) => [s.key, s.dtype, String(s.byteLength), s.from, s.to]);
    io.out(formatTable(['storage', 'dtype', 'bytes', 'saved', 'written'], rows, { right: [2] }));
    io.out(
      `wrote ${output} (${report.format}, ${report.bytesOut} bytes): ${report.changed} of ${report.storages.length} storages relocated`,
    );
    return EXIT.ok;
  },
};

const planCommand: Command = {
  args: 'FILE',
  summary: "a device map under per-device budgets (accelerate's planner); reads no tensor data",
  options: {
    'max-memory': {
      type: 'string',
      value: 'DEVICE=SIZE,...',
      description: 'budget per device, e.g. cuda:0=2GiB,cpu=8GiB (a plain number is bytes; required)',
    },
    strategy: { type: 'string', value: STRATEGIES.join('|'), description: 'how to spread the modules (default auto)' },
    'no-split': {
      type: 'string',
      value: 'PATTERN',
      multiple: true,
      description: 'modules matching PATTERN stay on one device',
    },
    sizing: {
      type: 'string',
      value: SIZINGS.join('|'),
      description:
        "tfjs: the bytes TF.js will hold (default; float16/bfloat16 at 4 bytes); torch: the file's dtypes, as accelerate counts",
    },
  },
  async run(positionals, values, io) {
    const [file] = expectArgs(positionals, ['FILE']) as [string];
    const budgets = values['max-memory'];
    if (typeof budgets !== 'string')
      throw new UsageError('plan needs --max-memory, e.g. --max-memory cuda:0=2GiB,cpu=8GiB');
    const maxMemory = parseMaxMemory(budgets);
    for (const d of Object.keys(maxMemory)) parseDevice(d, '--max-memory');
    const strategy: PlanStrategy = oneOf(values, 'strategy', STRATEGIES);
    const sizing: PlanSizing = oneOf(values, 'sizing', SIZINGS);
    const { describeSizing, planCheckpoint } = await import('../device-map/plan-checkpoint.js');
    const { plan, entries, bytesRead, resized } = await planCheckpoint(file, {
      strategy,
      maxMemory,
      noSplit: (values['no-split'] as string[] | undefined) ?? [],
      sizing,
    });
    io.out(
      values.json === true
        ? JSON.stringify({ ...plan, sizing, resized, bytesRead }, null, 2)
        : `${formatPlan(plan, entries)}\n${describeSizing({ sizing, resized })}`,
    );
    return EXIT.ok;
  },
};

/**
 * Whether a failed strategy is the expected one: `load-then-to` restores every storage where it was
 * saved first, so it fails with `DEVICE_UNAVAILABLE` on a machine without the saved device, which
 * is what the comparison shows.
 */
export function expectedFailure(r: StrategyLedger): boolean {
  return !r.ok && r.strategy === 'load-then-to' && r.error.code === 'DEVICE_UNAVAILABLE';
}

const compareCommand: Command = {
  args: 'FILE',
  summary:
    'load FILE onto --target by each strategy and compare bytes read, moved, copies and peak memory; exit 1 when one that should work fails',
  options: {
    target: { type: 'string', value: 'DEVICE', description: 'where the model should end up (required)' },
    map: {
      type: 'string',
      value: 'MODULE=DEVICE,...',
      description: 'adds the device-map strategy with this map (=DEVICE is the whole model)',
    },
    bind: {
      type: 'string',
      value: 'TYPE=BACKEND,...',
      description: 'bind device types to TF.js backends, e.g. cuda=wasm for a stand-in GPU',
    },
  },
  async run(positionals, values, io) {
    const [file] = expectArgs(positionals, ['FILE']) as [string];
    if (typeof values.target !== 'string') throw new UsageError('compare needs --target DEVICE, e.g. --target cpu');
    const target = parseDevice(values.target, '--target');
    const bindings = typeof values.bind === 'string' ? parseAssignments(values.bind, '--bind') : undefined;
    const deviceMap = typeof values.map === 'string' ? parseAssignments(values.map, '--map') : undefined;
    const { compareStrategies } = await import('../compare-strategies.js');
    const runtime = await createDeviceRuntime(bindings === undefined ? {} : { bindings });
    const results = await compareStrategies(file, target, {
      runtime,
      ...(deviceMap === undefined ? {} : { deviceMap }),
    });
    io.out(values.json === true ? JSON.stringify(results, null, 2) : formatLedgers(results));
    return results.some((r) => !r.ok && !expectedFailure(r)) ? EXIT.finding : EXIT.ok;
  },
};

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** `x-migrate` as a `Tool` of `@x/checkpoint/cli`. */
export const TOOL: Tool = {
  name: 'x-migrate',
  version,
  commands: new Map([
    ['relocate', relocateCommand],
    ['plan', planCommand],
    ['compare', compareCommand],
  ]),
  findings: 'compare: a strategy that should work failed',
};

/**
 * Runs one `x-migrate` command; resolves to the exit code (0 success, 1 a finding, 2 a usage or
 * input error).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  return runTool(TOOL, argv, {
    out: (t) => io.stdout(`${t}\n`),
    err: (t) => io.stderr(`${t}\n`),
    ...(io.progress === undefined ? {} : { progress: io.progress }),
  });
}

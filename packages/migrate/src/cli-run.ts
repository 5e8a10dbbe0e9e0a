/**
 * `x-migrate`: relocate a checkpoint's saved devices, plan a device map, compare placement
 * strategies. Bad input prints `x-migrate: CODE: message` on stderr (no stack trace) and exits
 * non-zero.
 *
 * @module
 */

import { parseArgs } from 'node:util';
import { createDeviceRuntime } from '@x/device';
import { compareStrategies } from './compare-strategies.js';
import { printable } from './errors.js';
import { parseAssignments, parseMapLocation, parseMaxMemory, usage } from './cli-specs.js';
import { formatLedgers, formatPlan, formatTable } from './format-table.js';
import { describeSizing, planCheckpoint, type PlanSizing } from './plan-checkpoint.js';
import type { PlanStrategy } from './plan-device-map.js';
import { relocateCheckpoint } from './relocate-file.js';

/**
 * Where the CLI writes.
 *
 * @example
 * ```ts
 * const io: CliIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };
 * ```
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const USAGE = `usage:
  x-migrate relocate IN OUT --map-location SPEC [--unknown-classes record]    SPEC: cpu | cuda:1=cpu,cuda:0=cpu
  x-migrate plan FILE --max-memory cuda:0=2GiB,cpu=8GiB [--strategy auto|balanced|balanced_low_0|sequential]
                      [--no-split PATTERN]... [--sizing tfjs|torch] [--json]
  x-migrate compare FILE --target DEVICE [--map module=device,...] [--bind cuda=wasm,...] [--json]`;

/**
 * Runs one `x-migrate` command; resolves to the exit code (0 ok, 1 failed, 2 bad usage).
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), io);
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'relocate':
        return await relocateCommand(rest, io);
      case 'plan':
        return await planCommand(rest, io);
      case 'compare':
        return await compareCommand(rest, io);
      case undefined:
      case '-h':
      case '--help':
        io.stdout(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw usage(`unknown command ${printable(command)}`);
    }
  } catch (e) {
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : 'ERROR';
    const message = e instanceof Error ? e.message : String(e);
    if (code.startsWith('ERR_PARSE_ARGS') || code === 'CLI_USAGE') {
      io.stderr(`x-migrate: CLI_USAGE: ${message}\n${USAGE}\n`);
      return 2;
    }
    io.stderr(`x-migrate: ${code}: ${message}\n`);
    return 1;
  }
}

async function relocateCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { 'map-location': { type: 'string' }, 'unknown-classes': { type: 'string' } } });
  const [input, output, extra] = positionals;
  if (input === undefined || output === undefined || extra !== undefined) throw usage('relocate takes IN and OUT');
  const spec = values['map-location'];
  if (spec === undefined) throw usage('relocate needs --map-location');
  const unknown = values['unknown-classes'];
  if (unknown !== undefined && unknown !== 'record' && unknown !== 'error') throw usage('--unknown-classes takes record or error');
  const report = await relocateCheckpoint(input, output, parseMapLocation(spec), { unknownClasses: unknown });
  const rows = report.storages.map((s) => [s.key, s.dtype, String(s.byteLength), s.from, s.to]);
  io.stdout(`${formatTable(['storage', 'dtype', 'bytes', 'saved', 'written'], rows, { right: [2] })}\n`);
  io.stdout(`wrote ${output} (${report.format}, ${report.bytesOut} bytes): ${report.changed} of ${report.storages.length} storages relocated\n`);
  return 0;
}

async function planCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      'max-memory': { type: 'string' },
      strategy: { type: 'string', default: 'auto' },
      'no-split': { type: 'string', multiple: true, default: [] },
      sizing: { type: 'string', default: 'tfjs' },
      json: { type: 'boolean', default: false },
    },
  });
  const [file, extra] = positionals;
  if (file === undefined || extra !== undefined) throw usage('plan takes one FILE');
  if (values['max-memory'] === undefined) throw usage('plan needs --max-memory, e.g. cuda:0=2GiB,cpu=8GiB');
  const maxMemory = parseMaxMemory(values['max-memory']);
  const { plan, entries, bytesRead, sizing, resized } = await planCheckpoint(file, {
    strategy: values.strategy as PlanStrategy,
    maxMemory,
    noSplit: values['no-split'],
    sizing: values.sizing as PlanSizing,
  });
  io.stdout(values.json ? `${JSON.stringify({ ...plan, sizing, resized, bytesRead }, null, 2)}\n` : `${formatPlan(plan, entries)}\n${describeSizing({ sizing, resized })}\n`);
  return 0;
}

async function compareCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { target: { type: 'string' }, map: { type: 'string' }, bind: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const [file, extra] = positionals;
  if (file === undefined || extra !== undefined) throw usage('compare takes one FILE');
  if (values.target === undefined) throw usage('compare needs --target DEVICE');
  const bindings = values.bind === undefined ? undefined : parseAssignments(values.bind, '--bind');
  const deviceMap = values.map === undefined ? undefined : parseAssignments(values.map, '--map');
  const runtime = await createDeviceRuntime(bindings === undefined ? {} : { bindings });
  const results = await compareStrategies(file, values.target, { runtime, ...(deviceMap === undefined ? {} : { deviceMap }) });
  io.stdout(values.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatLedgers(results)}\n`);
  return 0;
}

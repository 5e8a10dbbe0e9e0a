/**
 * `x-checkpoint`: inspect and load checkpoints from the command line.
 *
 * ```sh
 * x-checkpoint inspect model.pt [--json]
 * x-checkpoint load model.pt [--map-location cpu | --map-location cuda:1=cpu,cuda:0=cpu] [--json]
 * ```
 *
 * Failures exit non-zero with `CODE: message` on stderr (with `--json`: `{"error":{"code","message"}}`
 * there), never a stack trace. Pickled classes outside the allow list fail unless
 * `--unknown-classes record` turns them into inert records. Subcommands live in {@link COMMANDS}.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createDeviceRuntime, isDeviceError, type MapLocation } from '@x/device';
import { convertCommand } from './cli-convert.js';
import { diffCommand } from './cli-diff.js';
import { isCheckpointError } from './errors.js';
import { inspect, load } from './node.js';

/** Where a command writes. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

/** Parsed options of a command. */
export type CliValues = Record<string, string | boolean | undefined>;

/** One subcommand. */
export interface Command {
  /** One line for the help text, e.g. `inspect FILE [--json]`. */
  readonly usage: string;
  /** `node:util` `parseArgs` options (`--json` and `--unknown-classes` are added to every command). */
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Runs with the positionals after the command name; returns the exit code. */
  run(positionals: string[], values: CliValues, io: CliIO): Promise<number>;
}

/** A command-line mistake: exit code 2, code `USAGE`. */
class UsageError extends Error {
  readonly code = 'USAGE';
}

/**
 * Parses `--map-location`: a device (`cpu`, `wasm`, `meta`) or a remap list `cuda:1=cpu,cuda:0=cpu`.
 *
 * @example
 * ```ts
 * parseMapLocation('cuda:1=cpu,cuda:0=cpu'); // { 'cuda:1': 'cpu', 'cuda:0': 'cpu' }
 * parseMapLocation('cpu'); // 'cpu'
 * ```
 */
export function parseMapLocation(spec: string): MapLocation {
  if (!spec.includes('=')) return spec;
  const map: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    const [from, to, extra] = pair.split('=').map((s) => s.trim());
    if (!from || !to || extra !== undefined) throw new UsageError(`--map-location: expected FROM=TO pairs separated by commas, found '${pair.slice(0, 64)}'`);
    map[from] = to;
  }
  return map;
}

function unknownClasses(values: CliValues): 'error' | 'record' {
  const v = values['unknown-classes'] ?? 'error';
  if (v !== 'error' && v !== 'record') throw new UsageError(`--unknown-classes: expected 'error' or 'record', found '${String(v).slice(0, 64)}'`);
  return v;
}

function file(positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one FILE: x-checkpoint ${usage}`);
  return positionals[0]!;
}

/** Left-aligned columns (right-aligned where `right[i]`), two spaces apart. */
function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} B` : `${v.toFixed(1)} ${units[u]}`;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

const inspectCommand: Command = {
  usage: 'inspect FILE [--json]',
  options: {},
  async run(positionals, values, io) {
    const r = await inspect(file(positionals, this.usage), { unknownClasses: unknownClasses(values) });
    if (values.json === true) {
      const tensors = r.tensors.map((t) => ({ path: t.path, dtype: t.dtype, shape: t.shape, location: t.location, sha256: t.sha256 }));
      io.out(JSON.stringify({ format: r.format, tensors }));
      return 0;
    }
    const rows = [['NAME', 'DTYPE', 'SHAPE', 'LOCATION', 'BYTES', 'SHA256']];
    for (const t of r.tensors) rows.push([t.name, t.dtype, shapeText(t.shape), t.location, String(t.byteLength), t.sha256?.slice(0, 16) ?? '-']);
    io.out(`format: ${r.format}\n${table(rows, [false, false, false, false, true, false])}`);
    io.out(`total: ${r.tensors.length} tensors, ${r.storages} storages, ${r.storageBytes} bytes (${human(r.storageBytes)})`);
    return 0;
  },
};

const loadCommand: Command = {
  usage: 'load FILE [--map-location SPEC] [--json]',
  options: { 'map-location': { type: 'string' } },
  async run(positionals, values, io) {
    const spec = values['map-location'];
    const mapLocation = typeof spec === 'string' ? parseMapLocation(spec) : undefined;
    const runtime = await createDeviceRuntime({ devices: ['cpu'] }); // a fresh ledger: the report counts this load only; load prepares other devices it places on
    const { report } = await load(file(positionals, this.usage), { mapLocation, runtime, unknownClasses: unknownClasses(values) });
    if (values.json === true) {
      const tensors = report.tensors.map((t) => ({ path: t.path, device: t.device, dtype: t.dtype, torchDType: t.torchDType }));
      io.out(JSON.stringify({ format: report.format, tensors, conversions: report.conversions, ledger: report.ledger, bytesRead: report.bytesRead }));
      return 0;
    }
    const rows = [['NAME', 'DEVICE', 'DTYPE', 'TORCH DTYPE']];
    for (const t of report.tensors) rows.push([t.name, t.device, t.dtype, t.torchDType]);
    io.out(`format: ${report.format}\n${table(rows, [false, false, false, false])}`);
    for (const c of report.conversions) io.out(`${c.name}: ${c.from} -> ${c.to} ${c.step}${c.lossy === undefined ? '' : ` (lossy: ${c.lossy})`}`);
    const devices = Object.entries(report.ledger.devices).map(([d, u]) => [d, String(u.tensors), String(u.bytes), String(u.peak)]);
    io.out(table([['DEVICE', 'TENSORS', 'BYTES', 'PEAK'], ...devices], [false, true, true, true]));
    io.out(`read ${report.bytesRead} bytes (${human(report.bytesRead)}); placed ${report.ledger.bytesPlaced}; moved ${report.ledger.bytesMoved} in ${report.ledger.copies} copies`);
    return 0;
  },
};

/**
 * The subcommands by name; `convert` and `diff` are added here the same way.
 *
 * @example
 * ```ts
 * COMMANDS.set('diff', { usage: 'diff A B [--json]', options: {}, run: async (files, values, io) => 0 });
 * ```
 */
export const COMMANDS = new Map<string, Command>([
  ['inspect', inspectCommand],
  ['load', loadCommand],
  ['convert', convertCommand],
  ['diff', diffCommand],
]);

function help(): string {
  return ['usage:', ...[...COMMANDS.values()].map((c) => `  x-checkpoint ${c.usage}`)].join('\n');
}

/**
 * Runs the CLI with `argv` (without `node` and the script) and returns the exit code: 0 ok, 1 the
 * checkpoint or device failed, 2 a usage mistake.
 *
 * @example
 * ```ts
 * process.exitCode = await main(['inspect', 'model.pt', '--json']);
 * ```
 */
export async function main(argv: readonly string[], io: CliIO = { out: (t) => console.log(t), err: (t) => console.error(t) }): Promise<number> {
  const json = argv.includes('--json');
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      io.out(help());
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS.get(name);
    if (command === undefined) throw new UsageError(`unknown command '${name.slice(0, 64)}'\n${help()}`);
    let parsed: { values: CliValues; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...rest], options: { ...command.options, json: { type: 'boolean' }, 'unknown-classes': { type: 'string' } }, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\nusage: x-checkpoint ${command.usage}`);
    }
    return await command.run(parsed.positionals, parsed.values, io);
  } catch (e) {
    const known = isCheckpointError(e) || isDeviceError(e) || e instanceof UsageError;
    const code = known ? (e as { code: string }).code : 'INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    io.err(json ? JSON.stringify({ error: { code, message } }) : `${code}: ${message}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

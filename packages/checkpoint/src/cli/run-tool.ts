/**
 * The frame both CLIs share: `--help` listing every option of every command, `--version`,
 * argument parsing, and one `x-<tool>: CODE: message` line for any failure.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { quote } from '@x/device';
import { EXIT, type CliIO, type CliOption, type CliValues, type Command } from './command.js';
import { errorLine } from './error-line.js';
import { UsageError } from './usage.js';

/** A command-line program: its name, version, subcommands and the exit codes it documents. */
export interface Tool {
  /** `x-checkpoint`. */
  readonly name: string;
  readonly version: string;
  readonly commands: ReadonlyMap<string, Command>;
  /** What exit code 1 means for this tool's commands, e.g. `diff: the files differ`. */
  readonly findings: string;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Readonly<Record<string, CliOption>> = {
  json: {
    type: 'boolean',
    description: 'print the result as JSON (errors too: {"error":{"code","message"}} on stderr); no progress',
  },
  quiet: { type: 'boolean', description: 'no progress on stderr' },
  help: { type: 'boolean', description: 'print this help' },
};

const optionText = (name: string, o: CliOption): string =>
  `--${name}${o.value === undefined ? '' : ` ${o.value}`}${o.multiple === true ? ' (repeatable)' : ''}`;

/** The full help: every command with every option, the common options and the exit codes. */
export function helpText(tool: Tool): string {
  const rows: [string, string][] = [];
  for (const [name, c] of tool.commands) {
    rows.push([`${tool.name} ${name} ${c.args}`, c.summary]);
    for (const [o, spec] of Object.entries(c.options)) rows.push([`    ${optionText(o, spec)}`, spec.description]);
  }
  const common: [string, string][] = Object.entries(COMMON_OPTIONS).map(([o, spec]) => [
    `  ${optionText(o, spec)}`,
    spec.description,
  ]);
  common.push(['  --version', 'print the version']);
  const width = Math.max(...[...rows, ...common].map(([l]) => l.length)) + 2;
  const lines = (list: [string, string][], indent: string) =>
    list.map(([l, d]) => `${indent}${l.padEnd(width)}${d}`.trimEnd());
  return [
    `usage: ${tool.name} COMMAND ARGS [OPTIONS]`,
    '',
    'commands:',
    ...lines(rows, '  '),
    '',
    'options of every command:',
    ...lines(common, ''),
    '',
    `exit status: 0 success; 1 a finding (${tool.findings}); 2 a usage or input error (nothing written)`,
  ].join('\n');
}

function parseConfig(command: Command): NonNullable<ParseArgsConfig['options']> {
  const all = { ...command.options, ...COMMON_OPTIONS };
  return Object.fromEntries(
    Object.entries(all).map(([k, o]) => [k, o.multiple === true ? { type: o.type, multiple: true } : { type: o.type }]),
  );
}

/**
 * Runs `argv` (without `node` and the script) against `tool`; resolves to the exit code
 * (0 success, 1 a finding, 2 a usage or input error). Failures print one line on `io.err`.
 */
export async function runTool(tool: Tool, argv: readonly string[], io: CliIO): Promise<number> {
  const json = argv.includes('--json');
  try {
    const [name, ...rest] = argv;
    if (name === '--version' || name === '-v') {
      io.out(tool.version);
      return EXIT.ok;
    }
    if (name === undefined || name === '--help' || name === '-h' || argv.includes('--help') || argv.includes('-h')) {
      io.out(helpText(tool));
      return name === undefined ? EXIT.trouble : EXIT.ok;
    }
    const command = tool.commands.get(name);
    if (command === undefined)
      throw new UsageError(`unknown command ${quote(name)}; commands: ${[...tool.commands.keys()].join(', ')}`);
    let parsed: { values: CliValues; positionals: string[] };
    try {
      parsed = parseArgs({ args: [...rest], options: parseConfig(command), allowPositionals: true, strict: true }) as {
        values: CliValues;
        positionals: string[];
      };
    } catch (e) {
      throw new UsageError(`${(e as Error).message} (usage: ${tool.name} ${name} ${command.args})`);
    }
    return await command.run(parsed.positionals, parsed.values, io);
  } catch (e) {
    const { line, exit } = errorLine(tool.name, e, json);
    io.err(line);
    return exit;
  }
}

/** The {@link CliIO} of a real process: stdout and stderr, progress on stderr when it is a TTY. */
export function processIO(): CliIO {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    ...(process.stderr.isTTY ? { progress: process.stderr } : {}),
  };
}

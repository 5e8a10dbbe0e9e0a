/**
 * `x-checkpoint`: inspect, load, convert and diff checkpoints from the command line.
 *
 * ```sh
 * x-checkpoint inspect model.pt [--no-hash] [--json]
 * x-checkpoint load gpu.pt --map-location cpu
 * x-checkpoint convert gpu.pt cpu.safetensors --map-location cpu --dtype float16
 * x-checkpoint diff a.pt b.safetensors
 * ```
 *
 * Exit status: 0 success, 1 a finding (`diff`: the files differ), 2 a usage or input error.
 * Failures print one line, `x-checkpoint: CODE: message` (with `--json`:
 * `{"error":{"code","message"}}`), never a stack trace. Progress is drawn on stderr when it is a
 * TTY. The commands live in `cli/`; each imports the modules that read or write checkpoints when it
 * runs, so `--help`, `--version` and usage errors load none of them, and a command only its own.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import { convertCommand } from './convert.js';
import { diffCommand } from './diff.js';
import { inspectCommand } from './inspect.js';
import { loadCommand } from './load.js';
import type { CliIO, Command } from './command.js';
import { processIO, runTool, type Tool } from './run-tool.js';

export { parseMapLocation } from './usage.js';

/** The subcommands by name. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map([
  ['inspect', inspectCommand],
  ['load', loadCommand],
  ['convert', convertCommand],
  ['diff', diffCommand],
]);

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** `x-checkpoint` as a {@link Tool}. */
export const TOOL: Tool = { name: 'x-checkpoint', version, commands: COMMANDS, findings: 'diff: the files differ' };

/**
 * Runs the CLI with `argv` (without `node` and the script) and resolves to the exit code: 0
 * success, 1 a finding (`diff`: the files differ), 2 a usage or input error.
 */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  return runTool(TOOL, argv, io);
}

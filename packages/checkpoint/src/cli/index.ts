/**
 * `@x/checkpoint/cli`: the frame of the `x-checkpoint` and `x-migrate` command lines, for CLIs
 * built on `@x/checkpoint` (Node only): commands with documented options, `--help` and
 * `--version`, exit codes 0/1/2, one `x-<tool>: CODE: message` line per failure, device strings
 * checked with torch's grammar, and live progress on a terminal.
 *
 * @example
 * ```ts
 * import { processIO, runTool } from '@x/checkpoint/cli';
 * process.exitCode = await runTool({ name: 'x-tool', version: '1.0.0', commands, findings: 'never' }, process.argv.slice(2), processIO());
 * ```
 *
 * @module
 */

export { EXIT } from './command.js';
export type { CliIO, CliOption, CliValues, Command } from './command.js';
export { cliMessage, errorCode, errorLine } from './error-line.js';
export { humanBytes } from './human.js';
export { MAP_LOCATION_OPTION } from './load.js';
export { progressDisplay } from './progress.js';
export type { ProgressDisplay, ProgressReport } from './progress.js';
export { COMMON_OPTIONS, helpText, processIO, runTool } from './run-tool.js';
export type { Tool } from './run-tool.js';
export { UNKNOWN_CLASSES_OPTION, unknownClasses } from './unknown-classes.js';
export { DEVICE_FORMS, expectArgs, oneOf, parseDevice, parseMapLocation, UsageError } from './usage.js';

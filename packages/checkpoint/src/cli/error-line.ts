/**
 * One line per failure, in the words of the command line: `x-<tool>: CODE: message`, with the
 * library's fixes (`mapLocation: 'cpu'`, `unknownClasses: 'record'`) rewritten as the flags that
 * apply them. No stack trace, ever.
 *
 * @module
 */

import { EXIT } from './command.js';

/** Library wording of a fix, and the flag a CLI user types instead. */
const FLAG_FIXES: readonly [RegExp, (...groups: string[]) => string][] = [
  [
    / Fix: load with mapLocation: 'cpu', or mapLocation: \{ '([^']*)': 'cpu' \} to remap this location only\./,
    (dev) => ` Fix: rerun with --map-location cpu, or --map-location ${dev}=cpu to remap this location only.`,
  ],
  [/pass unknownClasses: 'record'/, () => 'rerun with --unknown-classes record'],
  [/; load it with dtype: 'raw'/, () => '; x-checkpoint inspect, convert and diff keep every dtype as saved'],
];

/**
 * The code of a failure: its own `code` when it has a stable one, `USAGE` for argument mistakes
 * (including `node:util` `parseArgs` ones), `INTERNAL` for anything else.
 */
export function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'INTERNAL';
  if (code === 'CLI_USAGE' || code.startsWith('ERR_PARSE_ARGS')) return 'USAGE';
  return /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'INTERNAL';
}

/** The message of a failure on one line, its library fixes rewritten as flags. */
export function cliMessage(e: unknown): string {
  let message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
  for (const [library, flag] of FLAG_FIXES)
    message = message.replace(library, (_, ...groups: string[]) => flag(...groups));
  return message;
}

/**
 * What a CLI prints for a failure and the exit code it returns: `x-tool: CODE: message` (with
 * `json`: `{"error":{"code","message"}}`), exit 2.
 */
export function errorLine(tool: string, e: unknown, json: boolean): { line: string; exit: number } {
  const code = errorCode(e);
  const message = code === 'USAGE' ? `${cliMessage(e)} (see ${tool} --help)` : cliMessage(e);
  return {
    line: json ? JSON.stringify({ error: { code, message } }) : `${tool}: ${code}: ${message}`,
    exit: EXIT.trouble,
  };
}

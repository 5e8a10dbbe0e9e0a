/**
 * What a subcommand of a CLI is: its usage line, its options (each with the words `--help`
 * prints), and a `run` returning the exit code.
 *
 * @module
 */

/** Where a command writes: `out` to stdout, `err` to stderr; `progress` is stderr when it is a TTY. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** The terminal stream live progress is drawn on; absent when stderr is not a TTY. */
  readonly progress?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** Parsed options of a command. */
export type CliValues = Record<string, string | boolean | string[] | undefined>;

/** One option of a command, as `parseArgs` takes it plus the text `--help` prints. */
export interface CliOption {
  readonly type: 'string' | 'boolean';
  /** One line for `--help`. */
  readonly description: string;
  /** The placeholder `--help` shows for the value, e.g. `SPEC`. */
  readonly value?: string;
  readonly multiple?: boolean;
}

/** One subcommand. */
export interface Command {
  /** Positional arguments for the help text, e.g. `IN OUT`. */
  readonly args: string;
  /** One line saying what the command does. */
  readonly summary: string;
  /** The command's own options (the CLI adds its common ones). */
  readonly options: Readonly<Record<string, CliOption>>;
  /** Runs with the positionals after the command name; resolves to the exit code ({@link EXIT}). */
  run(positionals: string[], values: CliValues, io: CliIO): Promise<number>;
}

/** Exit codes, as `diff(1)` and `cmp` use them. */
export const EXIT = Object.freeze({
  /** Done, nothing to report. */
  ok: 0,
  /** Done, and the answer is "no": `diff` found differences, `compare` saw a strategy fail that should work. */
  finding: 1,
  /** Could not do it: a usage mistake, an unreadable or invalid input, a failed write. */
  trouble: 2,
});

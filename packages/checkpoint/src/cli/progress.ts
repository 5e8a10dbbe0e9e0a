/**
 * Live progress on a terminal, drawn by `cli-progress` from the library's `onProgress` reports:
 * bytes and tensors done, rate and ETA. Nothing is drawn unless stderr is a TTY, nor with
 * `--json` or `--quiet`, so piped output is byte for byte what it would be without it.
 *
 * @module
 */

import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import type { CliIO, CliValues } from './command.js';
import { humanBytes } from './human.js';

/** What a progress report carries: bytes always, tensors when the operation counts them. */
export interface ProgressReport {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly tensorsDone?: number;
  readonly tensorsTotal?: number;
}

/** A progress display: feed it reports, stop it before printing the result. */
export interface ProgressDisplay {
  /** Pass as the library's `onProgress`. */
  readonly onProgress: (report: ProgressReport) => void;
  /** Removes the bar from the terminal (call it on success and on failure). */
  stop(): void;
}

// Required only when a bar is drawn: a piped or `--json` call does not pay for loading it.
const require = createRequire(import.meta.url);

const FORMAT = '{label} [{bar}] {percentage}% | {done} / {size}{tensors} | {rate} | ETA {eta_formatted}';

/**
 * A progress bar on `io.progress` labelled `label`, or `undefined` when there is no terminal or
 * `--json` / `--quiet` was given.
 *
 * @example
 * ```ts
 * const bar = progressDisplay(io, values, 'convert');
 * try {
 *   await save(value, out, { onProgress: bar?.onProgress });
 * } finally {
 *   bar?.stop();
 * }
 * ```
 */
export function progressDisplay(io: CliIO, values: CliValues, label: string): ProgressDisplay | undefined {
  const stream = io.progress;
  if (stream?.isTTY !== true || values.json === true || values.quiet === true) return undefined;
  const cliProgress = require('cli-progress') as typeof cliProgressModule;
  const bar = new cliProgress.SingleBar(
    { stream, format: FORMAT, hideCursor: false, clearOnComplete: true, barsize: 24, etaBuffer: 50, fps: 10 },
    cliProgress.Presets.shades_classic,
  );
  const created = performance.now();
  let started = false;
  return {
    onProgress(p) {
      const seconds = (performance.now() - created) / 1000;
      const payload = {
        label,
        done: humanBytes(p.bytesDone),
        size: humanBytes(p.bytesTotal),
        tensors: p.tensorsTotal === undefined ? '' : ` | ${p.tensorsDone ?? 0}/${p.tensorsTotal} tensors`,
        rate: `${humanBytes(p.bytesDone / Math.max(seconds, 1e-3))}/s`,
      };
      if (!started) {
        started = true;
        bar.start(Math.max(p.bytesTotal, 1), p.bytesDone, payload);
      } else bar.update(p.bytesDone, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

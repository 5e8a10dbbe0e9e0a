/**
 * `npm start -- [CHECKPOINT] [--max-memory wasm=7400,cpu=1GiB] [--strategy auto] [--no-split GLOB]
 * [--map module=device,...] [--target cpu] [--bind cuda=wasm] [--out FILE]`
 *
 * Paths are relative to the directory the command was typed in (npm's `INIT_CWD`, which `npm start`
 * sets; the working directory otherwise), not to this app's folder. The report goes to `--out`
 * (default `placement-report.html` there, a name git ignores). Failures print one line,
 * `placement: CODE: message`, and exit 2.
 *
 * @module
 */

import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errorLine, parseDevice, UsageError } from '@x/checkpoint/cli';
import { createDeviceRuntime } from '@x/device';
import type { PlanStrategy } from '@x/migrate';
import { parseAssignments, parseMaxMemory } from '@x/migrate/cli';
import { DEFAULT_CHECKPOINT, runPlacement } from './placement.js';

/** Budgets that split the bundled CNN (7432 bytes): `features` fits on wasm, `classifier` goes to the cpu. */
const DEFAULT_MAX_MEMORY = 'wasm=7400,cpu=1GiB';

/** Where the person typed the command: `npm start` runs this in the app's folder and says so in `INIT_CWD`. */
const callerDir = process.env['INIT_CWD'] || process.cwd();

try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'max-memory': { type: 'string', default: DEFAULT_MAX_MEMORY },
      strategy: { type: 'string' },
      'no-split': { type: 'string', multiple: true },
      map: { type: 'string' },
      target: { type: 'string', default: 'cpu' },
      bind: { type: 'string' },
      out: { type: 'string', default: 'placement-report.html' },
    },
  });
  if (positionals.length > 1) throw new UsageError('give at most one CHECKPOINT');
  const runtime = await createDeviceRuntime(
    values.bind === undefined ? {} : { bindings: parseAssignments(values.bind, '--bind') },
  );
  await runPlacement({
    checkpoint: positionals[0] === undefined ? DEFAULT_CHECKPOINT : resolve(callerDir, positionals[0]),
    runtime,
    target: parseDevice(values.target, '--target'),
    maxMemory: parseMaxMemory(values['max-memory']),
    ...(values.map === undefined ? {} : { deviceMap: parseAssignments(values.map, '--map') }),
    ...(values.strategy === undefined ? {} : { strategy: values.strategy as PlanStrategy }),
    ...(values['no-split'] === undefined ? {} : { noSplit: values['no-split'] }),
    out: resolve(callerDir, values.out),
    log: (text) => console.log(text),
  });
} catch (e) {
  const { line, exit } = errorLine('placement', e, false);
  console.error(line);
  process.exitCode = exit;
}

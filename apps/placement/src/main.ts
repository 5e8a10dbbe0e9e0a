/**
 * `node dist/main.js [CHECKPOINT] [--max-memory wasm=7400,cpu=1GiB] [--strategy auto] [--no-split GLOB]
 * [--map module=device,...] [--target cpu] [--bind cuda=wasm] [--out placement-report.html]`
 *
 * @module
 */

import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { createDeviceRuntime } from '@x/device';
import { parseAssignments, parseMaxMemory, type PlanStrategy } from '@x/migrate';
import { DEFAULT_CHECKPOINT, runPlacement } from './placement.js';

/** Budgets that split the bundled CNN (7432 bytes): `features` fits on wasm, `classifier` goes to the cpu. */
const DEFAULT_MAX_MEMORY = 'wasm=7400,cpu=1GiB';

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
  if (positionals.length > 1) throw Object.assign(new Error('give at most one CHECKPOINT'), { code: 'CLI_USAGE' });
  tf.enableProdMode(); // no "install tfjs-node" banner in the output
  const runtime = await createDeviceRuntime(values.bind === undefined ? {} : { bindings: parseAssignments(values.bind, '--bind') });
  await runPlacement({
    checkpoint: positionals[0] ?? DEFAULT_CHECKPOINT,
    runtime,
    target: values.target,
    maxMemory: parseMaxMemory(values['max-memory']),
    ...(values.map === undefined ? {} : { deviceMap: parseAssignments(values.map, '--map') }),
    ...(values.strategy === undefined ? {} : { strategy: values.strategy as PlanStrategy }),
    ...(values['no-split'] === undefined ? {} : { noSplit: values['no-split'] }),
    out: values.out,
    log: (text) => console.log(text),
  });
} catch (e) {
  const code = String((e as { code?: unknown }).code ?? 'ERROR');
  console.error(`placement: ${code}: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = code.startsWith('ERR_PARSE_ARGS') || code === 'CLI_USAGE' ? 2 : 1;
}

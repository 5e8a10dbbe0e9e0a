#!/usr/bin/env node
/**
 * The `x-migrate` executable; see {@link runCli}.
 *
 * @module
 */

import { runCli } from './cli-run.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});

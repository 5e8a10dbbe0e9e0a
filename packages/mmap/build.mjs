/**
 * Builds the addon from source with node-gyp (npm's own copy), against the headers of the running
 * Node when they are installed next to it (no download); otherwise node-gyp fetches them as usual.
 * Never fails: without a compiler, on Windows, or offline without headers, @x/checkpoint reads
 * files with positional reads instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const warn = (why) => console.warn(`@x/mmap: not built (${why}); @x/checkpoint will use positional reads`);
if (process.platform === 'win32') {
  warn('mapping is POSIX-only here');
} else {
  const prefix = dirname(dirname(process.execPath));
  const gyp =
    process.env.npm_config_node_gyp ?? join(prefix, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  const args = [gyp, 'rebuild'];
  if (existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
  if (!existsSync(gyp)) warn(`node-gyp not found at ${gyp}`);
  else {
    const run = spawnSync(process.execPath, args, {
      cwd: import.meta.dirname,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (run.status !== 0)
      warn(`node-gyp exited with ${run.status}: ${(run.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  }
}

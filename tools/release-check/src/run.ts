/**
 * Child processes for the release checks: always asynchronous, because the local registry answers
 * from this same process and a synchronous spawn would block it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** What a finished command printed. */
export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Commands started by {@link run} that have not exited, each the leader of its process group. */
const running = new Set<ChildProcess>();

/**
 * Runs `command args…` in a process group of its own and resolves with its output; rejects with
 * an error naming the command, its folder, exit code and both streams when it exits non-zero.
 */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (code === 0) {
        resolve({ stdout: out, stderr: err });
        return;
      }
      const line = [command, ...args].join(' ');
      reject(
        new Error(
          `\`${line}\` in ${options.cwd} exited with ${code ?? signal}\n--- stdout\n${out}\n--- stderr\n${err}`,
        ),
      );
    });
  });
}

/**
 * Kills every command {@link run} started that is still running, with everything it started (a
 * timed-out hook leaves npm, turbo and tsc writing into folders the cleanup is about to remove).
 */
export function stopRunning(): void {
  for (const child of running) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group has already exited
    }
  }
  running.clear();
}

/**
 * The environment for npm commands that must behave as on a user's machine: the caller's
 * environment without the `npm_*` variables that an enclosing `npm run`/turbo task sets (they
 * would point npm at the monorepo's package), keeping the cache and user config locations.
 */
export function cleanNpmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const keep = !key.toLowerCase().startsWith('npm_') || /^npm_config_(cache|userconfig|globalconfig)$/i.test(key);
    if (keep) env[key] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs the package.json script `name` of the package in `cwd` the way `npm run` would (through
 * `sh -c`, with `node_modules/.bin` on the PATH) but with `env` passed through unchanged: `npm run`
 * drops scoped-registry variables such as `npm_config_@x:registry` from its children's environment.
 */
export async function runScript(cwd: string, name: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  const { scripts } = JSON.parse(await readFile(join(cwd, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const script = scripts[name];
  if (script === undefined) throw new Error(`no script "${name}" in ${cwd}/package.json`);
  const path = [join(cwd, 'node_modules', '.bin'), env['PATH'] ?? ''].join(delimiter);
  return run('sh', ['-c', script], { cwd, env: { ...env, PATH: path } });
}

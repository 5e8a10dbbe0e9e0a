import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHECKPOINT } from './placement.js';

const APP = join(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(APP, 'dist/main.js');

function run(args: string[], cwd: string, initCwd?: string): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env['INIT_CWD'];
  if (initCwd !== undefined) env['INIT_CWD'] = initCwd;
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, env, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the placement app as a person runs it (dist/main.js, built before tests)', () => {
  it('reads and writes paths relative to the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-placement-'));
    copyFileSync(DEFAULT_CHECKPOINT, join(dir, 'model.pt'));
    const r = run(['model.pt', '--out', 'report.html'], dir);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(`report: ${join(dir, 'report.html')}`);
    expect(r.stdout).not.toMatch(/TensorFlow\.js in Node/);
    expect(readdirSync(dir).sort()).toEqual(['model.pt', 'report.html']);
  });

  it('under npm start (cwd: the app, INIT_CWD: where it was typed) resolves against INIT_CWD and leaves the source tree alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-placement-'));
    const r = run([], APP, dir);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(existsSync(join(dir, 'placement-report.html'))).toBe(true);
    expect(existsSync(join(APP, 'placement-report.html'))).toBe(false);
  });

  it('bad input: one placement: CODE: message line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'x-placement-'));
    const r = run(['missing.pt'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^placement: SOURCE_IO: .*missing\.pt.*\n$/);
    expect(run(['--target', 'gpu'], dir).stderr).toMatch(/^placement: DEVICE_INVALID: --target: "gpu" is not a device/);
  });
});

/**
 * Write failures as a person meets them, through the spawned `x-checkpoint` bin: a directory in
 * the way, permission denied, a full disk; and temp files a killed write left behind.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { save } from '../node/save.js';

const BIN = fileURLToPath(new URL('../../bin/x-checkpoint.js', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../../test/fixtures/zip/training-checkpoint.pt', import.meta.url)); // 11.8 kB
const isRoot = process.getuid?.() === 0;

function convert(
  out: string,
  cwd: string,
  asNobody = false,
): { status: number | null; stdout: string; stderr: string } {
  const args = [BIN, 'convert', FIXTURE, out];
  const r = asNobody
    ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...args], {
        cwd,
        encoding: 'utf8',
      })
    : spawnSync(process.execPath, args, { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const scratch = (): string => mkdtempSync(join(tmpdir(), 'x-write-'));

describe('write failures: OUTPUT_IO naming the path and the system’s reason, exit 2, nothing left', () => {
  it('a directory in the way', () => {
    const dir = scratch();
    mkdirSync(join(dir, 'out.pt'));
    const r = convert('out.pt', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'x-checkpoint: OUTPUT_IO: cannot write "out.pt" (renaming into place): EISDIR: a directory is in the way\n',
    );
    expect(readdirSync(dir)).toEqual(['out.pt']);
  });

  it('a folder that does not exist', () => {
    const dir = scratch();
    const r = convert('missing/out.pt', dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^x-checkpoint: OUTPUT_IO: cannot write "missing\/out\.pt" \(creating out\.pt\.tmp-[0-9a-f]{12}\): ENOENT: no such file or directory\n$/,
    );
  });

  // root passes permission checks, so the bin runs as nobody (setpriv) when the tests run as root
  it('permission denied', () => {
    const dir = scratch();
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(dir, 0o755);
    chmodSync(ro, 0o555);
    const r = convert('ro/out.pt', dir, isRoot);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /^x-checkpoint: OUTPUT_IO: cannot write "ro\/out\.pt" \(creating out\.pt\.tmp-[0-9a-f]{12}\): EACCES: permission denied\n$/,
    );
    expect(readdirSync(ro)).toEqual([]);
  });

  const full = mkdtempSync(join(tmpdir(), 'x-full-'));
  // an 8 KiB tmpfs is a full disk for an 11.8 kB file; mounting needs root with CAP_SYS_ADMIN, which
  // this project's machines have; elsewhere the case cannot be made without faking the file system
  const mounted = isRoot && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8k', 'tmpfs', full]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [full]);
    rmSync(full, { recursive: true, force: true });
  });
  it.runIf(mounted)('a full disk: the old file stays, no temp file is left', () => {
    writeFileSync(join(full, 'out.pt'), 'old');
    const r = convert('out.pt', full);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      'x-checkpoint: OUTPUT_IO: cannot write "out.pt" (writing): ENOSPC: no space left on device\n',
    );
    expect(readFileSync(join(full, 'out.pt'), 'utf8')).toBe('old');
    expect(readdirSync(full)).toEqual(['out.pt']);
  });
});

describe('temp files a killed write left', () => {
  it('are removed by the next write to that path: ours by name and older than the run, nothing else', async () => {
    const dir = scratch();
    const stale = join(dir, 'out.pt.tmp-0123456789ab');
    const notOurs = ['out.pt.tmp-keep', 'out.pt.tmp-0123456789abc', 'other.pt.tmp-0123456789ab'];
    for (const f of [stale, ...notOurs.map((f) => join(dir, f))]) writeFileSync(f, 'partial');
    const r = convert('out.pt', dir);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(readdirSync(dir).sort()).toEqual(['out.pt', ...notOurs].sort());
    // in this process: one written after the process started may be a write in progress, and stays
    const fresh = join(dir, 'out.pt.tmp-aaaaaaaaaaaa');
    const old = join(dir, 'out.pt.tmp-bbbbbbbbbbbb');
    writeFileSync(fresh, 'in progress');
    writeFileSync(old, 'killed');
    utimesSync(old, new Date(2020, 0, 1), new Date(2020, 0, 1));
    await save(new Map(), join(dir, 'out.pt'));
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(old)).toBe(false);
  });
});

/**
 * `npm pack` of a workspace package into a folder, with npm's own listing of the tarball, then
 * unpacked next to it so checks read the files a user gets.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './run.js';

/** One file of a tarball as `npm pack --json` lists it. */
export interface PackedFile {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
}

/** A packed package. */
export interface Packed {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the `.tgz`. */
  readonly tarball: string;
  /** The unpacked `package/` folder. */
  readonly root: string;
  /** Compressed tarball bytes. */
  readonly size: number;
  /** Sum of the file sizes. */
  readonly unpackedSize: number;
  readonly files: readonly PackedFile[];
  /** npm's `warn` lines while packing (bin or other fields it would correct, …). */
  readonly warnings: readonly string[];
}

/** Packs the package in `dir` into `dest` and unpacks it to `dest/<tarball name>/package`. */
export async function pack(dir: string, dest: string): Promise<Packed> {
  const { stdout, stderr } = await run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: dir });
  const [listing] = JSON.parse(stdout) as [Omit<Packed, 'tarball' | 'root' | 'warnings'> & { filename: string }];
  const unpacked = join(dest, listing.filename.replace(/\.tgz$/, ''));
  await mkdir(unpacked);
  await run('tar', ['-xzf', join(dest, listing.filename), '-C', unpacked], { cwd: dest });
  return {
    name: listing.name,
    version: listing.version,
    tarball: join(dest, listing.filename),
    root: join(unpacked, 'package'),
    size: listing.size,
    unpackedSize: listing.unpackedSize,
    files: listing.files,
    warnings: stderr.split('\n').filter((line) => /\bwarn\b/i.test(line)),
  };
}

/**
 * The benchmarks' baseline: the whole file read into one buffer with positional reads of at most
 * 1 GiB (what `load` is compared against).
 */
import { open } from 'node:fs/promises';

/** Reads `file` whole into a new Uint8Array. */
export async function readWhole(file) {
  const fh = await open(file, 'r');
  const { size } = await fh.stat();
  const buf = new Uint8Array(size);
  for (let done = 0; done < size; ) done += (await fh.read(buf, done, Math.min(2 ** 30, size - done), done)).bytesRead;
  await fh.close();
  return buf;
}

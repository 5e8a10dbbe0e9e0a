import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';
import type { CliIO } from './command.js';
import { progressDisplay } from './progress.js';

/** A stream that says it is a terminal and keeps what was drawn on it. */
function fakeTerminal(): Writable & { isTTY: boolean; columns: number; drawn: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return Object.assign(stream, { isTTY: true, columns: 120, drawn: () => text });
}

const io = (progress?: CliIO['progress']): CliIO => ({
  out: () => undefined,
  err: () => undefined,
  ...(progress === undefined ? {} : { progress }),
});

describe('progress on a terminal', () => {
  it('draws bytes and tensors done, rate and ETA, then clears the line', () => {
    const tty = fakeTerminal();
    const bar = progressDisplay(io(tty), {}, 'convert')!;
    bar.onProgress({ bytesDone: 1024, bytesTotal: 4096, tensorsDone: 1, tensorsTotal: 4 });
    bar.onProgress({ bytesDone: 4096, bytesTotal: 4096, tensorsDone: 4, tensorsTotal: 4 });
    bar.stop();
    const drawn = tty.drawn();
    expect(drawn).toMatch(
      /convert \[[^\]]*\] 25% \| 1\.0 KiB \/ 4\.0 KiB \| 1\/4 tensors \| [\d.]+ (B|KiB|MiB|GiB)\/s \| ETA /,
    );
    expect(drawn).toMatch(/convert \[[^\]]*\] 100% \| 4\.0 KiB \/ 4\.0 KiB \| 4\/4 tensors/);
    expect(drawn.endsWith('\x1b[2K')).toBe(true); // the last thing written erases the bar's line
  });

  it('relocate-style reports without tensor counts leave the tensors out', () => {
    const tty = fakeTerminal();
    const bar = progressDisplay(io(tty), {}, 'relocate')!;
    bar.onProgress({ bytesDone: 2048, bytesTotal: 2048 });
    bar.stop();
    expect(tty.drawn()).toMatch(/relocate \[[^\]]*\] 100% \| 2\.0 KiB \/ 2\.0 KiB \| [\d.]+ \w+\/s/);
    expect(tty.drawn()).not.toContain('tensors');
  });

  it('nothing without a terminal, with --json or with --quiet', () => {
    const tty = fakeTerminal();
    expect(progressDisplay(io(), {}, 'load')).toBeUndefined();
    expect(progressDisplay(io(Object.assign(fakeTerminal(), { isTTY: false })), {}, 'load')).toBeUndefined();
    expect(progressDisplay(io(tty), { json: true }, 'load')).toBeUndefined();
    expect(progressDisplay(io(tty), { quiet: true }, 'load')).toBeUndefined();
    expect(tty.drawn()).toBe('');
  });

  it('a real convert draws on the terminal and prints the same stdout as without one', async () => {
    const fixture = fileURLToPath(new URL('../../test/fixtures/zip/conv-bn-sequential.pt', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'x-progress-'));
    const run = async (progress?: CliIO['progress']) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(['convert', fixture, join(dir, 'out.pt')], {
        out: (t) => out.push(t),
        err: (t) => err.push(t),
        ...(progress === undefined ? {} : { progress }),
      });
      return { code, out, err };
    };
    const tty = fakeTerminal();
    const onTerminal = await run(tty);
    const piped = await run();
    expect(onTerminal).toEqual(piped);
    expect(piped.code).toBe(0);
    expect(tty.drawn()).toMatch(/convert \[[^\]]*\] 100% \| .* \| (\d+)\/\1 tensors/);
  });
});

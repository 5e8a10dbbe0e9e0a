/**
 * `x-checkpoint diff A B [--all]`: compares two checkpoints (any formats `open()` reads) tensor by
 * tensor on their original bits. Prints every tensor that differs (`--all`: every tensor) and a
 * summary; exit 0 when every tensor is the same, 1 when some differ, 2 when a file cannot be read.
 *
 * @module
 */

import type { TensorDiff } from '../diff.js';
import type { Checkpoint } from '../open.js';
import type { PreparedValue } from '../tensors/prepare.js';
import { EXIT, type Command } from './command.js';
import { progressDisplay, type ProgressReport } from './progress.js';
import { shapeText } from './table.js';
import { UNKNOWN_CLASSES_OPTION, unknownClasses } from './unknown-classes.js';
import { expectArgs } from './usage.js';

/** One output line for a tensor comparison. */
export function formatDiff(d: TensorDiff): string {
  switch (d.status) {
    case 'same':
      return `same       ${d.name}`;
    case 'different':
      return `different  ${d.name}  max abs diff ${d.maxAbsDiff}`;
    case 'shape':
      return `shape      ${d.name}  ${shapeText(d.a)} vs ${shapeText(d.b)}`;
    case 'dtype':
      return `dtype      ${d.name}  ${d.a} vs ${d.b}`;
    case 'missing':
      return `missing    ${d.name}  only in ${d.onlyIn.toUpperCase()}`;
  }
}

/**
 * The `diff` command: exit 0 only when every tensor is the same, 1 when some differ, 2 when a
 * file cannot be read.
 */
export const diffCommand: Command = {
  args: 'A B',
  summary: 'compare two checkpoints tensor by tensor on their saved bits; exit 1 when they differ',
  options: {
    all: { type: 'boolean', description: 'list every tensor, the same ones too' },
    'unknown-classes': UNKNOWN_CLASSES_OPTION,
  },
  async run(positionals, values, io) {
    const files = expectArgs(positionals, ['A', 'B']);
    const classes = unknownClasses(values);
    const opened: Checkpoint[] = [];
    const bar = progressDisplay(io, values, 'diff');
    const parts: (ProgressReport | undefined)[] = [undefined, undefined];
    const onProgress = (i: number) => (p: ProgressReport) => {
      parts[i] = p;
      const known = parts.filter((x) => x !== undefined);
      const sum = (f: (x: ProgressReport) => number | undefined) => known.reduce((n, x) => n + (f(x) ?? 0), 0);
      bar?.onProgress({
        bytesDone: sum((x) => x.bytesDone),
        bytesTotal: sum((x) => x.bytesTotal),
        tensorsDone: sum((x) => x.tensorsDone),
        tensorsTotal: sum((x) => x.tensorsTotal),
      });
    };
    try {
      const [{ open }, { diffPrepared }, { prepareValue }] = await Promise.all([
        import('../node/read.js'),
        import('../diff.js'),
        import('../tensors/prepare.js'),
      ]);
      for (const p of files) opened.push(await open(p, { unknownClasses: classes }));
      const [a, b] = opened.map((c, i) =>
        prepareValue(c.container.root, {
          storageBytes: (s) => c.container.readStorage(s),
          ...(bar === undefined ? {} : { onProgress: onProgress(i) }),
        }),
      ) as [PreparedValue, PreparedValue];
      const result = await diffPrepared(a, b);
      bar?.stop();
      if (values.json === true) {
        io.out(JSON.stringify({ identical: result.identical, tensors: result.tensors }));
        return result.identical ? EXIT.ok : EXIT.finding;
      }
      const counts = new Map<string, number>();
      for (const d of result.tensors) {
        counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
        if (values.all === true || d.status !== 'same') io.out(formatDiff(d));
      }
      io.out(`${result.tensors.length} tensors: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}`);
      return result.identical ? EXIT.ok : EXIT.finding;
    } finally {
      bar?.stop();
      for (const c of opened) await c.close();
    }
  },
};

/**
 * `x-checkpoint diff A B [--all]`: compares two checkpoints (any formats `open()` reads) tensor by
 * tensor on their original bits. Prints every tensor that differs (`--all`: every tensor) and a
 * summary; exit code 0 only when every tensor is the same, 1 when some differ or a file cannot be
 * read, 2 for a usage mistake.
 *
 * @module
 */

import type { Command } from './cli.js';
import { diffPrepared, type TensorDiff } from './diff.js';
import { open } from './node.js';
import type { Checkpoint } from './open.js';
import { prepareValue, type PreparedValue } from './save.js';

/**
 * One output line for a tensor comparison.
 *
 * @example
 * ```ts
 * formatDiff({ name: 'w', status: 'different', maxAbsDiff: 0.5 }); // 'different  w  max abs diff 0.5'
 * ```
 */
export function formatDiff(d: TensorDiff): string {
  const shape = (s: readonly number[]): string => `[${s.join(', ')}]`;
  switch (d.status) {
    case 'same':
      return `same       ${d.name}`;
    case 'different':
      return `different  ${d.name}  max abs diff ${d.maxAbsDiff}`;
    case 'shape':
      return `shape      ${d.name}  ${shape(d.a)} vs ${shape(d.b)}`;
    case 'dtype':
      return `dtype      ${d.name}  ${d.a} vs ${d.b}`;
    case 'missing':
      return `missing    ${d.name}  only in ${d.onlyIn.toUpperCase()}`;
  }
}

/**
 * The `diff` subcommand of {@link COMMANDS}: exit 0 only when every tensor is the same, 1 when
 * some differ (or a file cannot be read), 2 for a usage mistake.
 *
 * @example
 * ```ts
 * await main(['diff', 'a.pt', 'b.safetensors']); // 0 when every tensor is identical
 * ```
 */
export const diffCommand: Command = {
  usage: 'diff A B [--all]',
  options: { all: { type: 'boolean' } },
  async run(positionals, values, io) {
    if (positionals.length !== 2) {
      io.err(`USAGE: expected A and B\nusage: x-checkpoint ${this.usage}`);
      return 2;
    }
    const unknownClasses = values['unknown-classes'] === 'record' ? 'record' : 'error';
    const opened: Checkpoint[] = [];
    try {
      for (const p of positionals) opened.push(await open(p, { unknownClasses }));
      const [a, b] = opened.map((c) => prepareValue(c.container.root, { storageBytes: (s) => c.container.readStorage(s) })) as [PreparedValue, PreparedValue];
      const result = await diffPrepared(a, b);
      const counts = new Map<string, number>();
      for (const d of result.tensors) {
        counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
        if (values.all === true || d.status !== 'same') io.out(formatDiff(d));
      }
      io.out(`${result.tensors.length} tensors: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none'}`);
      return result.identical ? 0 : 1;
    } finally {
      for (const c of opened) await c.close();
    }
  },
};

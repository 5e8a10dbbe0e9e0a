/**
 * `x-checkpoint inspect FILE [--no-hash] [--json]`: every tensor with dtype, shape, saved
 * location, bytes and the SHA-256 of its elements (skipped with `--no-hash`, which reads no
 * tensor data).
 *
 * @module
 */

import type { Command } from './command.js';
import { EXIT } from './command.js';
import { humanBytes } from './human.js';
import { progressDisplay } from './progress.js';
import { columns, shapeText } from './table.js';
import { UNKNOWN_CLASSES_OPTION, unknownClasses } from './unknown-classes.js';
import { expectArgs } from './usage.js';

/** The `inspect` command. */
export const inspectCommand: Command = {
  args: 'FILE',
  summary: 'every tensor: name, dtype, shape, saved location, bytes, SHA-256 of its elements',
  options: {
    'no-hash': {
      type: 'boolean',
      description: 'skip the SHA-256s (reads no tensor data; JSON then has "hashed": false and "sha256": null)',
    },
    'unknown-classes': UNKNOWN_CLASSES_OPTION,
  },
  async run(positionals, values, io) {
    const [file] = expectArgs(positionals, ['FILE']) as [string];
    const hash = values['no-hash'] !== true;
    const { inspect } = await import('../node/read.js');
    const bar = progressDisplay(io, values, 'inspect');
    let r: Awaited<ReturnType<typeof inspect>>;
    try {
      r = await inspect(file, {
        unknownClasses: unknownClasses(values),
        hash,
        ...(bar === undefined ? {} : { onProgress: bar.onProgress }),
      });
    } finally {
      bar?.stop();
    }
    if (values.json === true) {
      const tensors = r.tensors.map((t) => ({
        path: t.path,
        dtype: t.dtype,
        shape: t.shape,
        location: t.location,
        sha256: t.sha256,
      }));
      io.out(JSON.stringify(hash ? { format: r.format, tensors } : { format: r.format, hashed: false, tensors }));
      return EXIT.ok;
    }
    const rows = [['NAME', 'DTYPE', 'SHAPE', 'LOCATION', 'BYTES', 'SHA256']];
    for (const t of r.tensors)
      rows.push([t.name, t.dtype, shapeText(t.shape), t.location, String(t.byteLength), t.sha256?.slice(0, 16) ?? '-']);
    io.out(`format: ${r.format}\n${columns(rows, [false, false, false, false, true, false])}`);
    io.out(
      `total: ${r.tensors.length} tensors, ${r.storages} storages, ${r.storageBytes} bytes (${humanBytes(r.storageBytes)})${hash ? '' : '; not hashed (--no-hash)'}`,
    );
    return EXIT.ok;
  },
};

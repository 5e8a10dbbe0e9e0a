/**
 * `x-checkpoint convert IN OUT [--map-location LOC] [--dtype float16|bfloat16|float32]`: reads any
 * checkpoint `open()` reads and writes it as a torch zip (`.pt`, `.bin`, `.pth`) or safetensors
 * (`.safetensors`), bit for bit unless `--dtype` casts the floating weights. Storages keep their
 * saved locations unless `--map-location` rewrites them with torch's `map_location` rules
 * (`cpu`, or `cuda:1=cpu,cuda:0=cpu` remapping saved tags).
 *
 * @module
 */

import { extname } from 'node:path';
import { resolveLocation } from '@x/device';
import type { Command } from './cli.js';
import { open } from './node.js';
import { save, saveSafetensors } from './save-node.js';
import type { FloatingDType } from './save.js';
import type { StorageRef } from './values.js';

const FLOATING: readonly FloatingDType[] = ['float16', 'bfloat16', 'float32'];

/**
 * The output format of a file name: torch zip for `.pt`, `.bin`, `.pth`; safetensors for
 * `.safetensors`; `undefined` for anything else.
 *
 * @example
 * ```ts
 * outputFormat('model.safetensors'); // 'safetensors'
 * ```
 */
export function outputFormat(path: string): 'torch' | 'safetensors' | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.safetensors') return 'safetensors';
  if (ext === '.pt' || ext === '.bin' || ext === '.pth') return 'torch';
  return undefined;
}

/**
 * The `convert` subcommand of {@link COMMANDS}: exit 0 when written, 2 for a usage mistake; read and
 * write failures throw (the CLI prints `CODE: message`, exit 1) and leave no file at OUT.
 *
 * @example
 * ```ts
 * await main(['convert', 'in.pt', 'out.safetensors', '--dtype', 'float16']); // 0
 * ```
 */
export const convertCommand: Command = {
  usage: 'convert IN OUT [--map-location SPEC] [--dtype float16|bfloat16|float32]',
  options: { 'map-location': { type: 'string' }, dtype: { type: 'string' } },
  async run(positionals, values, io) {
    const usage = (why: string): number => {
      io.err(`USAGE: ${why}\nusage: x-checkpoint ${this.usage}`);
      return 2;
    };
    if (positionals.length !== 2) return usage('expected IN and OUT');
    const [input, output] = positionals as [string, string];
    const format = outputFormat(output);
    if (format === undefined) return usage(`cannot tell the output format of ${JSON.stringify(output.slice(-64))}: use .pt, .bin, .pth or .safetensors`);
    const dtype = values.dtype;
    if (dtype !== undefined && !FLOATING.includes(dtype as FloatingDType)) return usage(`--dtype must be one of ${FLOATING.join(', ')}, got ${JSON.stringify(String(dtype).slice(0, 64))}`);
    const spec = values['map-location'];
    // loaded when run, not at import: cli.ts imports this module for its command table
    const mapLocation = typeof spec === 'string' ? (await import('./cli.js')).parseMapLocation(spec) : undefined;
    const ckpt = await open(input, { unknownClasses: values['unknown-classes'] === 'record' ? 'record' : 'error' });
    try {
      const container = ckpt.container;
      const common = {
        storageBytes: (s: StorageRef) => container.readStorage(s),
        ...(dtype === undefined ? {} : { castFloating: dtype as FloatingDType }),
      };
      if (format === 'torch') {
        const r = await save(container.root, output, { ...common, location: (s) => String(resolveLocation(mapLocation, s)) });
        io.out(`wrote ${output}: ${ckpt.entries.length} tensors, ${r.storages.length} storages, ${r.size} bytes`);
      } else {
        const header = await saveSafetensors(container.root, output, { ...common, dropNonTensors: true, metadata: { format: 'pt' } });
        io.out(`wrote ${output}: ${header.tensors.length} tensors (values that are not tensors are left out), ${header.dataStart + header.dataLength} bytes`);
      }
      return 0;
    } finally {
      await ckpt.close();
    }
  },
};

/**
 * `x-checkpoint convert IN OUT [--map-location SPEC] [--dtype float16|bfloat16|float32]`: reads
 * any checkpoint `open()` reads and writes it as a torch zip (`.pt`, `.bin`, `.pth`) or
 * safetensors (`.safetensors`), bit for bit unless `--dtype` casts the floating weights. Storages
 * keep their saved locations unless `--map-location` rewrites them with torch's `map_location`
 * rules (`cpu`, or `cuda:1=cpu,cuda:0=cpu` remapping saved tags).
 *
 * @module
 */

import { extname } from 'node:path';
import { resolveLocation } from '@x/device';
import type { FloatingDType } from '../tensors/prepare.js';
import type { StorageRef } from '../pickle/values.js';
import { EXIT, type Command } from './command.js';
import { MAP_LOCATION_OPTION } from './load.js';
import { progressDisplay } from './progress.js';
import { UNKNOWN_CLASSES_OPTION, unknownClasses } from './unknown-classes.js';
import { expectArgs, oneOf, parseMapLocation, UsageError } from './usage.js';

/**
 * The output format of a file name: torch zip for `.pt`, `.bin`, `.pth`; safetensors for
 * `.safetensors`; `undefined` for anything else.
 */
export function outputFormat(path: string): 'torch' | 'safetensors' | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.safetensors') return 'safetensors';
  if (ext === '.pt' || ext === '.bin' || ext === '.pth') return 'torch';
  return undefined;
}

/**
 * The `convert` command: exit 0 when written; any failure leaves no file at OUT (an existing OUT
 * stays as it was).
 */
export const convertCommand: Command = {
  args: 'IN OUT',
  summary: 'write IN as a torch zip (.pt, .bin, .pth) or safetensors (.safetensors), chosen by the name of OUT',
  options: {
    'map-location': {
      ...MAP_LOCATION_OPTION,
      description: `${MAP_LOCATION_OPTION.description}; rewrites the saved locations (torch files only)`,
    },
    dtype: {
      type: 'string',
      value: 'float16|bfloat16|float32',
      description: 'cast every floating tensor to this dtype',
    },
    'unknown-classes': UNKNOWN_CLASSES_OPTION,
  },
  async run(positionals, values, io) {
    const [input, output] = expectArgs(positionals, ['IN', 'OUT']) as [string, string];
    const format = outputFormat(output);
    if (format === undefined)
      throw new UsageError(
        `cannot tell the output format of ${JSON.stringify(output.slice(-64))}: name OUT .pt, .bin, .pth or .safetensors`,
      );
    const dtype: FloatingDType | undefined =
      values.dtype === undefined ? undefined : oneOf(values, 'dtype', ['float16', 'bfloat16', 'float32']);
    const spec = values['map-location'];
    const mapLocation = typeof spec === 'string' ? parseMapLocation(spec) : undefined;
    const [{ open }, { save, saveSafetensors }] = await Promise.all([
      import('../node/read.js'),
      import('../node/save.js'),
    ]);
    const ckpt = await open(input, { unknownClasses: unknownClasses(values) });
    const bar = progressDisplay(io, values, 'convert');
    try {
      const container = ckpt.container;
      const common = {
        storageBytes: (s: StorageRef) => container.readStorage(s),
        ...(dtype === undefined ? {} : { castFloating: dtype }),
        ...(bar === undefined ? {} : { onProgress: bar.onProgress }),
      };
      if (format === 'torch') {
        const r = await save(container.root, output, {
          ...common,
          location: (s) => String(resolveLocation(mapLocation, s)),
        });
        bar?.stop();
        io.out(`wrote ${output}: ${ckpt.entries.length} tensors, ${r.storages.length} storages, ${r.size} bytes`);
      } else {
        const header = await saveSafetensors(container.root, output, {
          ...common,
          dropNonTensors: true,
          metadata: { format: 'pt' },
        });
        bar?.stop();
        io.out(
          `wrote ${output}: ${header.tensors.length} tensors (values that are not tensors are left out), ${header.dataStart + header.dataLength} bytes`,
        );
      }
      return EXIT.ok;
    } finally {
      bar?.stop();
      await ckpt.close();
    }
  },
};

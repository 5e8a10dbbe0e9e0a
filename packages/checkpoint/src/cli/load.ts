/**
 * `x-checkpoint load FILE [--map-location SPEC] [--json]`: loads every tensor into TF.js as
 * `torch.load(FILE, map_location=SPEC)` would place it, and reports where each landed and the
 * device ledger.
 *
 * @module
 */

import { createDeviceRuntime } from '@x/device';
import { EXIT, type CliOption, type Command } from './command.js';
import { humanBytes } from './human.js';
import { progressDisplay } from './progress.js';
import { columns } from './table.js';
import { UNKNOWN_CLASSES_OPTION, unknownClasses } from './unknown-classes.js';
import { expectArgs, parseMapLocation } from './usage.js';

/** `--map-location` as `--help` shows it. */
export const MAP_LOCATION_OPTION: CliOption = {
  type: 'string',
  value: 'SPEC',
  description: "torch's map_location: a device (cpu) for every storage, or SAVED=DEVICE pairs (cuda:1=cpu,cuda:0=cpu)",
};

/** The `load` command. */
export const loadCommand: Command = {
  args: 'FILE',
  summary: 'load into TF.js as torch.load places it; where each tensor landed, and the device ledger',
  options: { 'map-location': MAP_LOCATION_OPTION, 'unknown-classes': UNKNOWN_CLASSES_OPTION },
  async run(positionals, values, io) {
    const [file] = expectArgs(positionals, ['FILE']) as [string];
    const spec = values['map-location'];
    const mapLocation = typeof spec === 'string' ? parseMapLocation(spec) : undefined;
    const classes = unknownClasses(values);
    const { load } = await import('../node/read.js');
    const runtime = await createDeviceRuntime({ devices: ['cpu'] }); // a fresh ledger: the report counts this load only; load prepares other devices it places on
    const bar = progressDisplay(io, values, 'load');
    let report: Awaited<ReturnType<typeof load>>['report'];
    try {
      ({ report } = await load(file, {
        mapLocation,
        runtime,
        unknownClasses: classes,
        ...(bar === undefined ? {} : { onProgress: bar.onProgress }),
      }));
    } finally {
      bar?.stop();
    }
    if (values.json === true) {
      const tensors = report.tensors.map((t) => ({
        path: t.path,
        device: t.device,
        dtype: t.dtype,
        torchDType: t.torchDType,
      }));
      io.out(
        JSON.stringify({
          format: report.format,
          tensors,
          conversions: report.conversions,
          ledger: report.ledger,
          bytesRead: report.bytesRead,
        }),
      );
      return EXIT.ok;
    }
    const rows = [['NAME', 'DEVICE', 'DTYPE', 'TORCH DTYPE']];
    for (const t of report.tensors) rows.push([t.name, t.device, t.dtype, t.torchDType]);
    io.out(`format: ${report.format}\n${columns(rows, [false, false, false, false])}`);
    for (const c of report.conversions)
      io.out(`${c.name}: ${c.from} -> ${c.to} ${c.step}${c.lossy === undefined ? '' : ` (lossy: ${c.lossy})`}`);
    const devices = Object.entries(report.ledger.devices).map(([d, u]) => [
      d,
      String(u.tensors),
      String(u.bytes),
      String(u.peak),
    ]);
    io.out(columns([['DEVICE', 'TENSORS', 'BYTES', 'PEAK'], ...devices], [false, true, true, true]));
    io.out(
      `read ${report.bytesRead} bytes (${humanBytes(report.bytesRead)}); placed ${report.ledger.bytesPlaced}; moved ${report.ledger.bytesMoved} in ${report.ledger.copies} copies`,
    );
    return EXIT.ok;
  },
};

/**
 * The `map_location` story of a checkpoint: where its storages were saved, which of those
 * locations this browser lacks (torch's error text), a control remapping each one, where that
 * sends every byte, and a real placement with the runtime's ledger.
 */
import type { Checkpoint, LoadReport } from '@x/checkpoint';
import { loadCheckpoint, openResolved, type ResolvedSource } from '@x/checkpoint/internal';
import { formatBytes, type DeviceRuntime } from '@x/device';
import { errorBox, errorCode, errorMessage } from './errors-view.js';
import { formatMs } from './format.js';
import { disposePlaced } from './placed-values.js';
import { html } from './svg.js';

/** What the panel needs from the page. */
export interface LocationsContext {
  readonly runtime: DeviceRuntime;
  /** Devices with data this browser has (`webgl`, `wasm`, `cpu`, …). */
  readonly devices: readonly string[];
  /** The opened source (re-opened with the chosen `mapLocation` to place every tensor). */
  readonly resolved: ResolvedSource;
  /**
   * Saved location -> device, as chosen in the panel; the checkpoint was opened with a
   * `mapLocation` that reads it, so `ckpt.placement` follows the choices without re-opening the file.
   */
  readonly remap: Map<string, string>;
  /** Reports placement progress (bytes done of total). */
  readonly onProgress: (label: string, done: number, total: number) => void;
}

interface SavedLocation {
  readonly location: string;
  readonly tensors: number;
  readonly bytes: number;
}

/** Saved locations with their tensor counts and storage bytes (each storage once). */
function savedLocations(ckpt: Checkpoint): SavedLocation[] {
  const byLocation = new Map<string, { tensors: number; bytes: number }>();
  for (const e of ckpt.entries) {
    const s = byLocation.get(e.location) ?? { tensors: 0, bytes: 0 };
    s.tensors++;
    byLocation.set(e.location, s);
  }
  for (const storage of ckpt.container.storages) {
    const s = byLocation.get(storage.location);
    if (s !== undefined) s.bytes += storage.byteLength;
  }
  return [...byLocation].map(([location, s]) => ({ location, ...s }));
}

/** The panel for `ckpt`. */
export function locationsPanel(ckpt: Checkpoint, ctx: LocationsContext): HTMLElement {
  const saved = savedLocations(ckpt);
  const { remap } = ctx;
  const outcome = html('div', { class: 'outcome', 'aria-live': 'polite' });
  const ledger = html('div', { class: 'ledger' });
  const rows = saved.map(({ location, tensors, bytes }) => {
    let status: HTMLElement;
    try {
      const dev = ctx.runtime.check(location);
      const backend = ctx.runtime.backendName(dev);
      status = html(
        'span',
        { class: 'ok' },
        backend === undefined ? `available (${String(dev)})` : `available: TF.js backend ${backend}`,
      );
    } catch (e) {
      status = html(
        'span',
        { class: 'fails', 'data-code': errorCode(e) },
        html('code', {}, errorCode(e)),
        ' ',
        errorMessage(e),
      );
    }
    const select = html('select', { 'data-location': location, 'aria-label': `map ${location} to` });
    select.append(html('option', { value: '' }, 'as saved'));
    for (const d of [...ctx.devices, 'meta']) select.append(html('option', { value: d }, d));
    select.addEventListener('change', () => {
      if (select.value === '') remap.delete(location);
      else remap.set(location, select.value);
      check();
    });
    return html(
      'tr',
      {},
      html('td', {}, html('code', {}, location)),
      html('td', {}, String(tensors)),
      html('td', {}, formatBytes(bytes)),
      html('td', {}, status),
      html('td', {}, select),
    );
  });
  const placeButton = html('button', { type: 'button', class: 'place' }, 'Place every tensor');
  placeButton.addEventListener('click', () => void place());

  const mapLocation = (): Record<string, string> => Object.fromEntries(remap);

  /** Where every storage goes with the chosen remapping; no tensor data is read. */
  function check(): void {
    ledger.replaceChildren();
    try {
      const plan = ckpt.placement(ctx.runtime);
      const perDevice = new Map<string, number>();
      for (const [s, d] of plan.storages) perDevice.set(String(d), (perDevice.get(String(d)) ?? 0) + s.byteLength);
      outcome.replaceChildren(
        html('p', { class: 'ok' }, `mapLocation ${JSON.stringify(mapLocation())} places every storage:`),
        html('ul', {}, ...[...perDevice].map(([d, b]) => html('li', {}, html('code', {}, d), ` ${formatBytes(b)}`))),
      );
      placeButton.disabled = false;
    } catch (e) {
      outcome.replaceChildren(errorBox(e, `mapLocation ${JSON.stringify(mapLocation())}:`));
      placeButton.disabled = true;
    }
  }

  /** Loads every tensor with the chosen remapping and shows the ledger, then frees the tensors. */
  async function place(): Promise<void> {
    placeButton.disabled = true;
    ctx.runtime.ledger.reset();
    const started = performance.now();
    try {
      const target = await openResolved(ctx.resolved, {
        mapLocation: mapLocation(),
        runtime: ctx.runtime,
        limits: ckpt.options.limits,
        onProgress: (p) => ctx.onProgress('placing', p.bytesDone, p.bytesTotal),
      });
      const { value, report } = await loadCheckpoint(target);
      ledger.replaceChildren(ledgerTable(report, performance.now() - started));
      disposePlaced(value, ctx.runtime);
    } catch (e) {
      ledger.replaceChildren(errorBox(e, 'placement failed:'));
    } finally {
      ctx.onProgress('placing', 1, 1);
      placeButton.disabled = false;
    }
  }

  check();
  return html(
    'section',
    { class: 'locations' },
    html('h2', {}, 'map_location'),
    html(
      'p',
      { class: 'hint' },
      `Devices in this browser: ${ctx.devices.join(', ')} (and meta, which holds shapes only).`,
    ),
    html(
      'table',
      {},
      html(
        'thead',
        {},
        html('tr', {}, ...['saved on', 'tensors', 'bytes', 'on this browser', 'map to'].map((h) => html('th', {}, h))),
      ),
      html('tbody', {}, ...rows),
    ),
    outcome,
    placeButton,
    ledger,
  );
}

function ledgerTable(report: LoadReport, ms: number): HTMLElement {
  const { ledger } = report;
  return html(
    'div',
    {},
    html(
      'h3',
      {},
      `Ledger after placing ${report.tensors.length} tensors (${formatBytes(report.bytesRead)} read in ${formatMs(ms)})`,
    ),
    html(
      'table',
      { class: 'ledger-table' },
      html('thead', {}, html('tr', {}, ...['device', 'bytes now', 'peak', 'tensors'].map((h) => html('th', {}, h)))),
      html(
        'tbody',
        {},
        ...Object.entries(ledger.devices).map(([d, u]) =>
          html(
            'tr',
            { 'data-device': d },
            html('td', {}, html('code', {}, d)),
            html('td', {}, formatBytes(u.bytes)),
            html('td', {}, formatBytes(u.peak)),
            html('td', {}, String(u.tensors)),
          ),
        ),
      ),
    ),
    html(
      'p',
      {},
      `Copies between devices: ${ledger.copies}; bytes moved: ${formatBytes(ledger.bytesMoved)}; bytes placed: ${formatBytes(ledger.bytesPlaced)}.`,
    ),
  );
}

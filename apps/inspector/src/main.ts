/** The page: opening sources, the summary, the tensor list and panel, map_location and plan panels. */
import type { Checkpoint, CheckpointEntry } from '@x/checkpoint';
import { openResolved } from '@x/checkpoint/internal';
import { formatBytes, type DeviceRuntime } from '@x/device';
import { availableDevices, createBrowserRuntime } from './browser-runtime.js';
import { errorBox } from './errors-view.js';
import { formatMs } from './format.js';
import { locationsPanel } from './locations-panel.js';
import { planPanel } from './plan-panel.js';
import { droppedFiles, fromPickedFiles, fromUrlText, pickedFiles, type Opening } from './sources.js';
import { html } from './svg.js';
import { TensorTable } from './tensor-table.js';
import { tensorPanel } from './tensor-panel.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const body = document.body;
const progressBox = $<HTMLDivElement>('progress');
const progressBar = progressBox.querySelector('progress')!;
const progressText = progressBox.querySelector<HTMLElement>('.progress-text')!;

let runtime: DeviceRuntime;
let devices: string[] = [];
let current: Checkpoint | undefined;
let generation = 0;

const table = new TensorTable((entry) => select(entry));
$('table').append(table.element);

/** Shows read progress: `done` of `total` bytes (hidden once done). */
function showProgress(label: string, done: number, total: number): void {
  progressBox.hidden = total > 0 && done >= total;
  progressBar.value = total > 0 ? done / total : 0;
  progressText.textContent = `${label}: ${formatBytes(done)}${total > 0 ? ` of ${formatBytes(total)}` : ''}`;
}

async function openSource(
  make: (onRead: (bytes: number) => void) => Opening | Promise<Opening>,
  started = performance.now(),
): Promise<void> {
  const mine = ++generation;
  body.dataset.state = 'opening';
  $('error').replaceChildren();
  let read = 0;
  let total = 0;
  let opening = true; // later reads (one tensor, a placement) report their own progress
  const onRead = (bytes: number): void => {
    read += bytes;
    if (opening) showProgress('reading', read, total);
  };
  const previous = current;
  current = undefined;
  await previous?.close();
  try {
    const opening = await make(onRead);
    total = opening.resolved.source.size;
    showProgress('reading', read, total);
    const remap = new Map<string, string>();
    // unmapped locations stay as saved (undefined), like torch's dict map_location
    const ckpt = await openResolved(opening.resolved, { runtime, mapLocation: (_storage, saved) => remap.get(saved) });
    if (mine !== generation) return void (await ckpt.close());
    current = ckpt;
    show(ckpt, opening, remap, performance.now() - started);
    // listed: the rows are in the DOM and the next frame has been painted
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    if (mine !== generation) return;
    body.dataset.listedMs = (performance.now() - started).toFixed(1);
    body.dataset.state = 'ready';
  } catch (e) {
    if (mine !== generation) return;
    $('error').replaceChildren(errorBox(e, 'Could not open this checkpoint:'));
    for (const id of ['summary', 'locations', 'plan']) $(id).replaceChildren();
    $('explorer').hidden = true;
    body.dataset.state = 'error';
  } finally {
    opening = false;
    progressBox.hidden = true;
  }
}

function show(ckpt: Checkpoint, opening: Opening, remap: Map<string, string>, openMs: number): void {
  const bytes = ckpt.container.storages.reduce((s, storage) => s + storage.byteLength, 0);
  $('summary').replaceChildren(
    html(
      'div',
      { class: 'summary' },
      html('span', {}, html('b', {}, 'file '), opening.label),
      html('span', { 'data-format': ckpt.format }, html('b', {}, 'format '), ckpt.format),
      html('span', {}, html('b', {}, 'tensors '), ckpt.entries.length.toLocaleString('en-US')),
      html('span', {}, html('b', {}, 'storage bytes '), formatBytes(bytes)),
      html('span', {}, html('b', {}, 'file size '), formatBytes(opening.resolved.source.size)),
      html('span', {}, html('b', {}, 'opened in '), formatMs(openMs)),
    ),
  );
  $('explorer').hidden = false;
  table.setEntries(ckpt.entries);
  $('tensor').replaceChildren(html('p', { class: 'hint' }, 'Select a tensor to see its statistics and histogram.'));
  $('locations').replaceChildren(
    locationsPanel(ckpt, { runtime, devices, resolved: opening.resolved, remap, onProgress: showProgress }),
  );
  $('plan').replaceChildren(planPanel(ckpt, devices));
}

function select(entry: CheckpointEntry): void {
  if (current !== undefined) $('tensor').replaceChildren(tensorPanel(current, entry, runtime, devices));
}

function wireInputs(): void {
  for (const id of ['file', 'folder']) {
    const input = $<HTMLInputElement>(id);
    input.addEventListener('change', () => {
      const started = performance.now();
      if (input.files !== null && input.files.length > 0) {
        const files = pickedFiles(input.files);
        void openSource((onRead) => fromPickedFiles(files, onRead), started);
      }
      input.value = '';
    });
  }
  $('url-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = $<HTMLInputElement>('url').value;
    void openSource((onRead) => fromUrlText(text, onRead));
  });
  document.addEventListener('dragover', (event) => {
    event.preventDefault();
    body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => body.classList.remove('dragging'));
  document.addEventListener('drop', (event) => {
    event.preventDefault();
    body.classList.remove('dragging');
    const started = performance.now();
    const items = event.dataTransfer?.items;
    if (items === undefined) return;
    const files = droppedFiles(items);
    void openSource(async (onRead) => fromPickedFiles(await files, onRead), started);
  });
}

async function start(): Promise<void> {
  try {
    runtime = await createBrowserRuntime();
    devices = availableDevices(runtime);
    wireInputs();
    body.dataset.devices = devices.join(',');
    body.dataset.state = 'idle';
  } catch (e) {
    $('error').replaceChildren(errorBox(e, 'TF.js backends failed to start:'));
    body.dataset.state = 'error';
  }
}

void start();

/**
 * The tensor list: filterable, sortable and virtualised (only the rows in view exist in the DOM),
 * so 10,000 tensors scroll as smoothly as ten.
 */
import type { CheckpointEntry } from '@x/checkpoint';
import { formatBytes } from '@x/device';
import { formatShape } from './format.js';
import { html } from './svg.js';

const ROW_HEIGHT = 26;
/** Rows rendered beyond each edge of the viewport. */
const OVERSCAN = 8;

type SortKey = 'index' | 'name' | 'dtype' | 'shape' | 'bytes' | 'location';

const COLUMNS: readonly [SortKey, string][] = [
  ['index', '#'],
  ['name', 'name'],
  ['dtype', 'dtype'],
  ['shape', 'shape'],
  ['bytes', 'bytes'],
  ['location', 'saved on'],
];

interface Row {
  readonly index: number;
  readonly entry: CheckpointEntry;
  readonly numel: number;
  readonly search: string;
}

/** The table's element and its controls. */
export class TensorTable {
  readonly element: HTMLElement;
  readonly #viewport: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #count: HTMLElement;
  readonly #headers = new Map<SortKey, HTMLButtonElement>();
  readonly #onSelect: (entry: CheckpointEntry) => void;
  #rows: Row[] = [];
  #shown: Row[] = [];
  #filter = '';
  #sort: SortKey = 'index';
  #descending = false;
  #selected: string | undefined;
  #frame = 0;

  constructor(onSelect: (entry: CheckpointEntry) => void) {
    this.#onSelect = onSelect;
    const filter = html('input', {
      type: 'search',
      placeholder: 'filter by name, dtype or location',
      'aria-label': 'filter tensors',
      class: 'filter',
    });
    filter.addEventListener('input', () => {
      this.#filter = filter.value.trim().toLowerCase();
      this.#viewport.scrollTop = 0;
      this.#apply();
    });
    this.#count = html('span', { class: 'count' });
    const header = html('div', { class: 'row header', role: 'row' });
    for (const [key, label] of COLUMNS) {
      const button = html('button', { type: 'button', class: `col ${key}`, 'data-sort': key }, label);
      button.addEventListener('click', () => {
        this.#descending = this.#sort === key ? !this.#descending : key === 'bytes' || key === 'shape';
        this.#sort = key;
        this.#viewport.scrollTop = 0;
        this.#apply();
      });
      this.#headers.set(key, button);
      header.append(button);
    }
    this.#spacer = html('div', { class: 'spacer' });
    this.#viewport = html('div', { class: 'viewport', role: 'rowgroup', tabindex: '0' }, this.#spacer);
    this.#viewport.addEventListener('scroll', () => {
      cancelAnimationFrame(this.#frame);
      this.#frame = requestAnimationFrame(() => this.#render());
    });
    this.#viewport.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>('[data-index]');
      if (row !== null) this.#select(this.#rows[Number(row.dataset.index)]!.entry);
    });
    this.element = html(
      'section',
      { class: 'tensors', role: 'table', 'aria-label': 'tensors' },
      html('div', { class: 'toolbar' }, filter, this.#count),
      header,
      this.#viewport,
    );
  }

  /** Shows `entries` (in file order until a column is sorted). */
  setEntries(entries: readonly CheckpointEntry[]): void {
    this.#rows = entries.map((entry, index) => ({
      index,
      entry,
      numel: entry.shape.reduce((a, b) => a * b, 1),
      search: `${entry.name} ${entry.dtype} ${entry.location}`.toLowerCase(),
    }));
    this.#selected = undefined;
    this.#viewport.scrollTop = 0;
    this.#apply();
  }

  #select(entry: CheckpointEntry): void {
    this.#selected = entry.name;
    this.#render();
    this.#onSelect(entry);
  }

  #apply(): void {
    const shown = this.#filter === '' ? [...this.#rows] : this.#rows.filter((r) => r.search.includes(this.#filter));
    const key = this.#sort;
    const sign = this.#descending ? -1 : 1;
    const primary: (a: Row, b: Row) => number =
      key === 'index'
        ? (a, b) => a.index - b.index
        : key === 'bytes'
          ? (a, b) => a.entry.byteLength - b.entry.byteLength
          : key === 'shape'
            ? (a, b) => a.numel - b.numel
            : (a, b) => (a.entry[key] < b.entry[key] ? -1 : a.entry[key] > b.entry[key] ? 1 : 0);
    // ties keep file order in both directions
    shown.sort((a, b) => sign * primary(a, b) || a.index - b.index);
    this.#shown = shown;
    for (const [k, button] of this.#headers) {
      button.setAttribute('aria-sort', k === key ? (this.#descending ? 'descending' : 'ascending') : 'none');
    }
    this.#count.textContent = `${shown.length.toLocaleString('en-US')} of ${this.#rows.length.toLocaleString('en-US')} tensors`;
    this.#spacer.style.height = `${shown.length * ROW_HEIGHT}px`;
    this.#render();
  }

  #render(): void {
    const first = Math.max(0, Math.floor(this.#viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(
      this.#shown.length,
      Math.ceil((this.#viewport.scrollTop + this.#viewport.clientHeight) / ROW_HEIGHT) + OVERSCAN,
    );
    const rows: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const { entry, index } = this.#shown[i]!;
      const row = html(
        'div',
        {
          class: entry.name === this.#selected ? 'row selected' : 'row',
          role: 'row',
          'data-index': String(index),
          'data-name': entry.name,
          style: `top:${i * ROW_HEIGHT}px`,
        },
        html('span', { class: 'col index' }, String(index)),
        html('span', { class: 'col name', title: entry.name }, entry.name),
        html('span', { class: 'col dtype' }, entry.dtype),
        html('span', { class: 'col shape' }, formatShape(entry.shape)),
        html('span', { class: 'col bytes', title: `${entry.byteLength} bytes` }, formatBytes(entry.byteLength)),
        html('span', { class: 'col location' }, entry.location),
      );
      rows.push(row);
    }
    this.#spacer.replaceChildren(...rows);
  }
}

/** Readable numbers for the page. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `16777216` -> `16 MiB`, `1419383121` -> `1.32 GiB` (binary units, three significant digits). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${bytes < 0 ? '-' : ''}${Number(value.toFixed(digits))} ${UNITS[unit]}`;
}

/** A statistic: up to 5 significant digits, exponent form for very large or small magnitudes. */
export function formatValue(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e5 || a < 1e-3 ? x.toExponential(3) : String(Number(x.toPrecision(5)));
}

/** `[768, 3072]` -> `768 × 3072`; a scalar is `scalar`. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join(' × ');
}

/** Milliseconds with one decimal. */
export function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

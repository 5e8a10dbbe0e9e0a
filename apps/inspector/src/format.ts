/** Readable numbers for the page. */

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

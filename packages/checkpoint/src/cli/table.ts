/**
 * Aligned text columns for terminal output.
 *
 * @module
 */

/**
 * Rows as columns two spaces apart, left-aligned (right-aligned where `right[i]`); the first row
 * is the header.
 */
export function columns(rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A shape as torch prints a size: `[2, 3]`. */
export const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

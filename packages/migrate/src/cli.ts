/**
 * `@x/migrate/cli`: what `x-migrate` prints and parses, for tools and apps that show the same
 * tables or take the same arguments: plain-text tables of device plans and strategy ledgers, the
 * `--map`/`--bind` and `--max-memory` parsers, and the `sizes:` line of `x-migrate plan`.
 * Isomorphic (no Node built-in), unlike the command line itself.
 *
 * @packageDocumentation
 */
export { formatTable, formatLedgers, formatPlan, ledgerDevices } from './cli/format-table.js';
export { parseAssignments, parseMaxMemory } from './cli/specs.js';
export { describeSizing } from './device-map/plan-checkpoint.js';

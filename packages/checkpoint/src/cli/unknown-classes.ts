/**
 * `--unknown-classes error|record`, shared by every command that unpickles.
 *
 * @module
 */

import type { CliOption, CliValues } from './command.js';
import { oneOf } from './usage.js';

/** The option as `--help` shows it. */
export const UNKNOWN_CLASSES_OPTION: CliOption = {
  type: 'string',
  value: 'error|record',
  description:
    'classes outside the allow list: refuse (error, the default) or keep as inert records (nothing is executed either way)',
};

/**
 * The value of `--unknown-classes`, `error` when absent.
 *
 * @throws UsageError for anything but `error` or `record`.
 */
export const unknownClasses = (values: CliValues): 'error' | 'record' =>
  oneOf(values, 'unknown-classes', ['error', 'record']);

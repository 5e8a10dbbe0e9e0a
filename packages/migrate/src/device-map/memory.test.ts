import { describe, expect, it } from 'vitest';
import { isMigrateError } from '../errors.js';
import { parseMemory } from './memory.js';

describe('parseMemory (accelerate convert_file_size_to_int rules)', () => {
  it.each([
    ['2GiB', 2 * 2 ** 30],
    ['2gib', 2 * 2 ** 30],
    ['0.5MiB', 0.5 * 2 ** 20],
    ['10KiB', 10 * 2 ** 10],
    ['500MB', 500 * 10 ** 6],
    ['1.5GB', 1.5 * 10 ** 9],
    ['3KB', 3 * 10 ** 3],
    // lower-case trailing b on a decimal unit = bits
    ['8Gb', (8 * 10 ** 9) / 8],
    ['5kb', Math.floor((5 * 10 ** 3) / 8)],
    [1024, 1024],
    [1024.7, 1024],
  ])('%s -> %d bytes', (input, bytes) => {
    expect(parseMemory(input)).toBe(bytes);
  });

  it.each(['1000', 'abc', 'GB', '1.2.3GB', '-1GB', ''])("rejects %j with accelerate's message", (input) => {
    try {
      parseMemory(input);
      expect.unreachable();
    } catch (e) {
      expect(isMigrateError(e) && e.code).toBe('MEMORY_INVALID');
      expect((e as Error).message).toBe(
        `\`size\` ${input} is not in a valid format. Use an integer for bytes, or a string with an unit (like '5.0GB').`,
      );
    }
  });

  it('rejects negative and non-finite numbers', () => {
    for (const n of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => parseMemory(n)).toThrow(/not in a valid format/);
  });
});

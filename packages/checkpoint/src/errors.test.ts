import { describe, expect, it } from 'vitest';
import { CheckpointError, isCheckpointError, MAX_MESSAGE_LENGTH, quote } from './errors.js';

describe('CheckpointError', () => {
  it('carries code, entry, offset, details and cause, and appends the location', () => {
    const cause = new Error('inner');
    const e = new CheckpointError('ZIP_OVERLAP', 'entries overlap', { entry: 'archive/data/0', offset: 320, details: { other: 'x' }, cause });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'CheckpointError', code: 'ZIP_OVERLAP', entry: 'archive/data/0', offset: 320, details: { other: 'x' }, cause });
    expect(e.message).toBe('entries overlap (entry "archive/data/0", byte offset 320)');
    expect(isCheckpointError(e)).toBe(true);
    expect(isCheckpointError(new Error('x'))).toBe(false);
    expect(isCheckpointError({ name: 'CheckpointError', code: 'X' })).toBe(false);
  });

  it('bounds messages to 512 characters', () => {
    const e = new CheckpointError('PICKLE_TYPE', 'x'.repeat(2000), { entry: 'e'.repeat(2000) });
    expect(e.message.length).toBe(MAX_MESSAGE_LENGTH);
    expect(e.message.endsWith('…')).toBe(true);
  });
});

describe('quote', () => {
  it('escapes quotes, backslashes, controls, bidi and non-ASCII', () => {
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quote('os\nsystem')).toBe('"os\\x0asystem"');
    expect(quote('\u001b[31m\u202e\u00e9')).toBe('"\\x1b[31m\\u202e\\xe9"');
  });

  it('cuts to 64 characters before escaping and marks the cut', () => {
    const q = quote('a'.repeat(100));
    expect(q).toBe(`"${'a'.repeat(64)}"…`);
    expect(quote('\n'.repeat(100)).length).toBe(64 * 4 + 3);
  });
});

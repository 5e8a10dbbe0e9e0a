import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_LENGTH } from '@x/device';
import { CheckpointError, isCheckpointError } from './errors.js';

describe('CheckpointError', () => {
  it('carries code, entry, offset, details and cause, and appends the location', () => {
    const cause = new Error('inner');
    const e = new CheckpointError('ZIP_OVERLAP', 'entries overlap', {
      entry: 'archive/data/0',
      offset: 320,
      details: { other: 'x' },
      cause,
    });
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({
      name: 'CheckpointError',
      code: 'ZIP_OVERLAP',
      entry: 'archive/data/0',
      offset: 320,
      details: { other: 'x' },
      cause,
    });
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

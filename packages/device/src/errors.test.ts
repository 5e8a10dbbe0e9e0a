import { describe, expect, it } from 'vitest';
import {
  CodedError,
  DeviceError,
  MAX_MESSAGE_LENGTH,
  MAX_QUOTED_LENGTH,
  isCodedError,
  isDeviceError,
  quote,
} from './errors.js';

describe('DeviceError', () => {
  it('carries a stable code and details, and the guard recognises it', () => {
    const e = new DeviceError('DTYPE_LOSSY', 'lost', { dtype: 'int64' });
    expect([e.code, e.message, e.details, e.name]).toEqual(['DTYPE_LOSSY', 'lost', { dtype: 'int64' }, 'DeviceError']);
    expect(isDeviceError(e)).toBe(true);
    expect(isDeviceError(new Error('x'))).toBe(false);
    expect(isDeviceError({ name: 'DeviceError', code: 'X' })).toBe(false);
  });

  it('bounds messages to 512 characters', () => {
    expect(new DeviceError('DEVICE_INVALID', 'x'.repeat(2000)).message).toHaveLength(MAX_MESSAGE_LENGTH);
  });

  it('is a CodedError; isCodedError matches the name, not the class', () => {
    const e = new DeviceError('DEVICE_INVALID', 'x');
    expect(e).toBeInstanceOf(CodedError);
    expect(e.cause).toBeUndefined();
    expect(isCodedError(e, 'DeviceError')).toBe(true);
    expect(isCodedError(e, 'CheckpointError')).toBe(false);
    expect(isCodedError(Object.assign(new Error('x'), { code: 'ENOENT' }), 'DeviceError')).toBe(false);
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

  it('wraps in the mark asked for and escapes only that mark', () => {
    expect(quote(`it's "x"`, "'")).toBe(`'it\\'s "x"'`);
    expect(quote(`it's "x"`, '')).toBe(`it's "x"`);
    expect(quote('a'.repeat(100), '')).toBe(`${'a'.repeat(MAX_QUOTED_LENGTH)}…`);
    expect(quote('a\nb\u202e', '')).toBe('a\\x0ab\\u202e');
  });
});

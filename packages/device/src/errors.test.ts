import { describe, expect, it } from 'vitest';
import { DeviceError, MAX_MESSAGE_LENGTH, clip, isDeviceError } from './errors.js';

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

  it('clip cuts to 64 characters and escapes non-printable text', () => {
    expect(clip('a'.repeat(100))).toBe(`${'a'.repeat(64)}…`);
    expect(clip('a\nb\u202e')).toBe('a\\u000ab\\u202e');
  });
});

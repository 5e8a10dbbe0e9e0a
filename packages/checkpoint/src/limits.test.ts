import { describe, expect, it } from 'vitest';
import { checkBound, DEFAULT_LIMITS, resolveLimits } from './limits.js';
import { expectCode } from './testing/helpers.js';

describe('limits', () => {
  it('defaults are the documented table', () => {
    expect(DEFAULT_LIMITS).toMatchObject({
      maxEntries: 100_000,
      maxCentralDirectory: 64 * 1024 * 1024,
      maxNameLength: 1024,
      maxPickleBytes: 256 * 1024 * 1024,
      maxStringBytes: 16 * 1024 * 1024,
      maxLongBytes: 64,
      maxLineBytes: 256,
      maxOps: 10_000_000,
      maxStack: 1_000_000,
      maxMarks: 1000,
      maxDepth: 1000,
      maxMemo: 1_000_000,
      maxNodes: 10_000_000,
      maxRank: 64,
      maxInflateRatio: 1100,
    });
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
  });

  it('resolveLimits merges overrides and refuses nonsense', () => {
    expect(resolveLimits({ maxEntries: 5 })).toMatchObject({ maxEntries: 5, maxRank: 64 });
    expect(() => resolveLimits({ maxEntries: 0 })).toThrow(TypeError);
    expect(() => resolveLimits({ nope: 1 } as never)).toThrow(TypeError);
  });

  it('checkBound throws the code of the limit with details', async () => {
    expect(() => checkBound(10, 10, 'maxStack', 'stack')).not.toThrow();
    const e = await expectCode(() => checkBound(11, 10, 'maxStack', 'pickle stack', { offset: 3 }), 'PICKLE_LIMIT');
    expect(e.details).toEqual({ limit: 'maxStack', value: 11, max: 10 });
    expect(e.offset).toBe(3);
    await expectCode(() => checkBound(65, 64, 'maxRank', 'rank'), 'TENSOR_GEOMETRY');
    await expectCode(() => checkBound(2n ** 70n, 2 ** 32, 'maxTensorBytes', 'bytes'), 'TENSOR_TOO_LARGE');
    await expectCode(() => checkBound(2000, 1100, 'maxInflateRatio', 'ratio'), 'ZIP_BOMB');
    expect(() => checkBound(2n ** 70n, Number.POSITIVE_INFINITY, 'maxTotalBytes', 'bytes')).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { concatBytes } from './concat-bytes.js';

describe('concatBytes', () => {
  it('joins the parts in order, skipping nothing for empty ones', () => {
    expect([...concatBytes([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)])]).toEqual([1, 2, 3]);
    expect(concatBytes([]).length).toBe(0);
  });

  it('copies, so the result does not alias a single part', () => {
    const part = Uint8Array.of(7);
    const out = concatBytes([part]);
    part[0] = 9;
    expect([...out]).toEqual([7]);
  });
});

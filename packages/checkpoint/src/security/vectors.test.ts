/**
 * Every hostile case of @x-tools/test-utils' `allVectors()` through `open`, `load`, `inspect` and
 * `tensor()`: the exact code, no partial result, time, memory, prototypes and message hygiene
 * (expect-rejects.ts). Accepted cases are checked in accepted.test.ts, random inputs in
 * fuzz.test.ts and lying async sources in entry-points.test.ts.
 */
import { allVectors } from '@x-tools/test-utils';
import { describe, expect, it } from 'vitest';
import { expectCaseRejects } from '../testing/run-case.js';

const CASES = allVectors();

describe('hostile vectors 1-95', () => {
  it('covers every vector 1-95 with at least one case', () => {
    const seen = new Set(CASES.map((c) => c.vector));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 95 }, (_, i) => i + 1));
  });

  it('names every case uniquely within its vector', () => {
    const keys = CASES.map((c) => `${c.vector} ${c.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('gives every case either a code or the reason it is read', () => {
    for (const c of CASES)
      expect((c.code === undefined) !== (c.accepted === undefined), `${c.vector} ${c.name}`).toBe(true);
  });

  for (const c of CASES.filter((x) => x.code !== undefined)) {
    it(`${c.vector} ${c.name}: ${c.code}`, () => expectCaseRejects(c));
  }
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffDelay } from '../../src/util/backoff.js';

// The random source is injected, so each bound of full jitter is checked exactly.
const lowest = () => 0;
const highest = () => 1 - Number.EPSILON;

describe('consumer retry backoff (exponential, full jitter)', () => {
  it('given the lowest draw, then the delay is zero on every attempt (full jitter, not equal jitter)', () => {
    for (const attempt of [1, 2, 5, 20]) expect(backoffDelay(attempt, {}, lowest)).toBe(0);
  });

  it('given the highest draw, then the cap doubles per attempt from the base until the maximum', () => {
    const options = { baseDelayMs: 10, maxDelayMs: 100 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, options, highest))).toEqual([9, 19, 39, 79, 99, 99]);
  });

  it('given no options, then the base is 50 ms and the maximum 5 s', () => {
    expect(backoffDelay(1, {}, highest)).toBe(49);
    expect(backoffDelay(30, {}, highest)).toBe(4_999);
  });

  it('given any attempt and draw, then the delay is an integer in [0, min(max, base · 2^(attempt−1)))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, draw) => {
          const delay = backoffDelay(attempt, { baseDelayMs, maxDelayMs }, () => draw);
          const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(cap);
        },
      ),
    );
  });
});

/** Cron and duration parsing, and the did-you-mean suggestions used in messages. */
import { describe, expect, it } from 'vitest';
import { cronProblem, durationMs } from '../../src/topology/cron.js';
import { closest, editDistance } from '../../src/topology/suggest.js';

describe('cronProblem', () => {
  it.each(['* * * * *', '0 0 1 * *', '*/15 * * * *', '0 9-17 * * 1-5', '0,30 6 1,15 1-12/3 7'])(
    'accepts %s',
    (expression) => {
      expect(cronProblem(expression)).toBeUndefined();
    },
  );

  it.each([
    ['0 0 1 *', 'has 4 fields'],
    ['60 * * * *', "minute '60'"],
    ['* * 0 * *', "day-of-month '0'"],
    ['* * * 13 *', "month '13'"],
    ['* * * * 8', "day-of-week '8'"],
    ['5-1 * * * *', "minute '5-1'"],
    ['* * * JAN *', "month 'JAN'"],
  ])('rejects %s', (expression, problem) => {
    expect(cronProblem(expression)).toContain(problem);
  });
});

describe('durationMs', () => {
  it('reads s, m, h and d', () => {
    expect([durationMs('30s'), durationMs('15m'), durationMs('2h'), durationMs('1d')]).toEqual([
      30_000, 900_000, 7_200_000, 86_400_000,
    ]);
    expect(durationMs('15min')).toBeUndefined();
    expect(durationMs('0m')).toBeUndefined();
  });
});

describe('suggestions', () => {
  it('measures edits', () => {
    expect(editDistance('biling', 'billing')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests a close name, ignores far ones, and matches ignoring case', () => {
    expect(closest('biling', ['billing', 'claims'])).toBe('billing');
    expect(closest('Eventual', ['strong', 'eventual'])).toBe('eventual');
    expect(closest('xyz', ['billing', 'claims'])).toBeUndefined();
  });
});

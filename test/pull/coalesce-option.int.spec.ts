import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPullClient } from '../../src/pull/index.js';
import { getsOf, startAuthority, type TestAuthority } from './authority.js';

describe('the coalesce option of the pull client', () => {
  let authority: TestAuthority;
  beforeEach(async () => {
    authority = await startAuthority();
    authority.write('c-1', { address: '1 Quay' });
    // Slow enough that the eight calls below overlap.
    authority.delayMs = 50;
  });
  afterEach(async () => {
    await authority.close();
  });

  it.each([
    [true, 1],
    [false, 8],
  ])(
    'with coalesce %s, eight concurrent strong reads of one entity send %i request(s)',
    async (coalesce, sent) => {
      const client = createPullClient({ baseUrl: authority.baseUrl, consumer: 'billing', coalesce });
      try {
        const answers = await Promise.all(Array.from({ length: 8 }, () => client.get('customer', 'c-1')));
        expect(answers.map((a) => a.version)).toEqual(Array(8).fill(1));
        expect(getsOf(authority, 'customer', 'c-1')).toHaveLength(sent);
      } finally {
        client.close();
      }
    },
  );

  it('refuses a coalesce that is not a boolean, naming the option', () => {
    expect(() =>
      createPullClient({
        baseUrl: authority.baseUrl,
        consumer: 'billing',
        coalesce: 'no' as unknown as boolean,
      }),
    ).toThrow(/option coalesce: expected true or false, got "no"/);
  });
});

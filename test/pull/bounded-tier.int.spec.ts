import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTidemarkError } from '../../src/errors.js';
import { createPullClient, type PulledEntity } from '../../src/pull/index.js';
import { startAuthority, type TestAuthority } from './authority.js';

/**
 * Property: a `bounded` read never returns data older than its bound. With a controllable
 * clock, every write at the authority is stamped with the (fake) time it happened; a bounded
 * read begun at `now` with `maxStalenessMs` S and `minVersion` M must return a version at least
 * the one the authority had at `now - S`, and at least M (or fail with TM_VERSION_NOT_REACHED
 * when the authority is below M). Reads run against a real read API, with cache hits, fetches,
 * concurrent bursts (coalesced) and reads that begin while an older request is still in flight.
 */

type Op =
  | { kind: 'advance'; ms: number }
  | { kind: 'write'; id: string }
  | { kind: 'read'; id: string; staleness: number; minBack: number | null }
  | { kind: 'burst'; id: string; n: number; staleness: number }
  | { kind: 'overlap'; id: string; gap: number; staleness: number };

const ids = ['a', 'b'];
const id = fc.constantFrom(...ids);
const staleness = fc.integer({ min: 0, max: 600 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 400 }) }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), id }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      id,
      staleness,
      // minVersion relative to the current version: null = none, 0 = current, -1 = one more than current.
      minBack: fc.option(fc.integer({ min: -1, max: 3 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('burst' as const),
      id,
      n: fc.integer({ min: 2, max: 8 }),
      staleness,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('overlap' as const),
      id,
      gap: fc.integer({ min: 2, max: 300 }),
      staleness: fc.integer({ min: 0, max: 300 }),
    }),
  },
);

let authority: TestAuthority;
beforeAll(async () => {
  authority = await startAuthority();
});
afterAll(async () => {
  await authority.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bounded tier', () => {
  it('never returns data older than the bound, whatever the interleaving of writes, time and reads', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        run++;
        let now = 1_000_000;
        const clock = { now: () => now };
        const client = createPullClient({
          baseUrl: authority.baseUrl,
          consumer: 'prop',
          retries: 0,
          clock,
          cache: { ttlMs: 10_000 },
        });
        // Per entity: (fake time, version) of every write, oldest first.
        const history = new Map<string, Array<[number, number]>>();
        const entity = (name: string) => `${run}-${name}`;
        const write = (name: string) => {
          const version = authority.write(entity(name), { name, at: now });
          history.set(name, [...(history.get(name) ?? []), [now, version]]);
        };
        const versionAt = (name: string, t: number) =>
          (history.get(name) ?? []).filter(([at]) => at <= t).at(-1)?.[1] ?? 0;
        const check = (
          name: string,
          got: PulledEntity,
          begun: number,
          bound: number,
          minVersion?: number,
        ) => {
          expect(
            got.version,
            `version of ${name} read at ${begun} with bound ${bound}`,
          ).toBeGreaterThanOrEqual(versionAt(name, begun - bound));
          expect(got.fetchedAt).toBeGreaterThanOrEqual(begun - bound);
          if (minVersion !== undefined) expect(got.version).toBeGreaterThanOrEqual(minVersion);
        };
        for (const name of ids) write(name);
        try {
          for (const o of ops) {
            switch (o.kind) {
              case 'advance':
                now += o.ms;
                break;
              case 'write':
                write(o.id);
                break;
              case 'read': {
                const current = authority.version(entity(o.id));
                const minVersion = o.minBack === null ? undefined : Math.max(1, current - o.minBack);
                const begun = now;
                const result = await client
                  .get('customer', entity(o.id), { tier: 'bounded', maxStalenessMs: o.staleness, minVersion })
                  .catch((error: unknown) => error);
                if (minVersion !== undefined && minVersion > current) {
                  expect(isTidemarkError(result, 'TM_VERSION_NOT_REACHED')).toBe(true);
                } else {
                  check(o.id, result as PulledEntity, begun, o.staleness, minVersion);
                }
                break;
              }
              case 'burst': {
                const before = authority.requests.length;
                const begun = now;
                const results = await Promise.all(
                  Array.from({ length: o.n }, () =>
                    client.get('customer', entity(o.id), { tier: 'bounded', maxStalenessMs: o.staleness }),
                  ),
                );
                for (const r of results) check(o.id, r, begun, o.staleness);
                expect(authority.requests.length - before).toBeLessThanOrEqual(1);
                break;
              }
              case 'overlap': {
                // A strong read is in flight (answer delayed) when the entity changes and time
                // passes; a bounded read begun then must not take the in-flight, older answer.
                authority.delayMs = 40;
                const requested = authority.requests.length;
                const first = client.get('customer', entity(o.id));
                while (authority.requests.length === requested) await sleep(1);
                await sleep(5); // the authority has read the state for the first request
                now += 1;
                write(o.id);
                now += o.gap;
                const begun = now;
                const second = client.get('customer', entity(o.id), {
                  tier: 'bounded',
                  maxStalenessMs: o.staleness,
                });
                const [a, b] = await Promise.all([first, second]);
                authority.delayMs = 0;
                expect(a.version).toBe(versionAt(o.id, begun) - 1);
                check(o.id, b, begun, o.staleness);
                break;
              }
            }
          }
        } finally {
          authority.delayMs = 0;
          client.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});

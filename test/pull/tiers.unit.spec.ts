import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBulkhead } from '../../src/pull/bulkhead.js';
import { cacheServes, flightServes, type Read } from '../../src/pull/tiers.js';

const read = (over: Partial<Read>): Read => ({
  tier: 'bounded',
  maxStalenessMs: 100,
  minVersion: undefined,
  ...over,
});

describe('cacheServes', () => {
  it('never serves strong reads, or copies below minVersion', () => {
    expect(cacheServes({ version: 5, fetchedAt: 1_000 }, read({ tier: 'strong' }), 1_000, 10_000)).toBe(
      false,
    );
    expect(cacheServes({ version: 5, fetchedAt: 1_000 }, read({ minVersion: 6 }), 1_000, 10_000)).toBe(false);
    expect(cacheServes(undefined, read({}), 1_000, 10_000)).toBe(false);
  });

  it('serves bounded reads up to exactly maxStalenessMs, eventual ones strictly within ttlMs', () => {
    const copy = { version: 1, fetchedAt: 1_000 };
    expect(cacheServes(copy, read({ maxStalenessMs: 100 }), 1_100, 0)).toBe(true);
    expect(cacheServes(copy, read({ maxStalenessMs: 100 }), 1_101, 0)).toBe(false);
    expect(cacheServes(copy, read({ tier: 'eventual' }), 1_499, 500)).toBe(true);
    expect(cacheServes(copy, read({ tier: 'eventual' }), 1_500, 500)).toBe(false);
    expect(cacheServes(copy, read({ tier: 'eventual' }), 1_000, 0)).toBe(false);
  });

  it('property: whatever it serves for a bounded read is within the bound and at least minVersion', () => {
    fc.assert(
      fc.property(
        fc.record({
          version: fc.integer({ min: 1, max: 50 }),
          fetchedAt: fc.integer({ min: 0, max: 10_000 }),
        }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
        (copy, now, maxStalenessMs, minVersion) => {
          if (cacheServes(copy, read({ maxStalenessMs, minVersion }), now, 0)) {
            expect(now - copy.fetchedAt).toBeLessThanOrEqual(maxStalenessMs);
            expect(copy.version).toBeGreaterThanOrEqual(minVersion ?? 1);
          }
        },
      ),
    );
  });
});

describe('flightServes', () => {
  it('lets strong and eventual reads join any request in flight, bounded ones only a young enough one', () => {
    expect(flightServes(0, read({ tier: 'strong' }), 5_000)).toBe(true);
    expect(flightServes(0, read({ tier: 'eventual' }), 5_000)).toBe(true);
    expect(flightServes(4_900, read({ maxStalenessMs: 100 }), 5_000)).toBe(true);
    expect(flightServes(4_899, read({ maxStalenessMs: 100 }), 5_000)).toBe(false);
  });
});

describe('bulkhead', () => {
  it('hands slots over in FIFO order and never runs more than maxConcurrent', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 2, maxQueued: 10, full: () => new Error('full') });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const work = (i: number) =>
      bulkhead.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return i;
      });
    expect(await Promise.all(Array.from({ length: 8 }, (_, i) => work(i)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(2);
    expect([bulkhead.active, bulkhead.queued]).toEqual([0, 0]);
  });

  it('frees the slot of work that throws', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueued: 0, full: () => new Error('full') });
    await expect(bulkhead.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(bulkhead.run(async () => 'ok')).resolves.toBe('ok');
  });
});

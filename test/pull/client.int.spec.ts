import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isTidemarkError } from '../../src/errors.js';
import { createPullClient, type PullClient, type PullClientOptions } from '../../src/pull/index.js';
import { getsOf, startAuthority, type TestAuthority } from './authority.js';

/** The pull client against a real read API on 127.0.0.1; requests are counted at the server. */

let authority: TestAuthority;
const clients: PullClient[] = [];

const client = (options: Partial<PullClientOptions> = {}): PullClient => {
  const c = createPullClient({
    baseUrl: authority.baseUrl,
    consumer: 'communications',
    timeoutMs: 1_000,
    retries: 0,
    backoff: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
  clients.push(c);
  return c;
};

/** A clock that moves only when told to. */
const manualClock = (start = 1_000_000) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
};

const settle = <T>(promises: Promise<T>[]) => Promise.allSettled(promises);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(async () => {
  authority = await startAuthority();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await authority.close();
});

describe('reading', () => {
  it('returns the entity with its version, state and updatedAt, naming itself to the authority', async () => {
    authority.write('c-1', { name: 'Ada' });
    authority.write('c-1', { name: 'Ada', address: '1 Main St' });
    const got = await client().get('customer', 'c-1');
    expect(got).toMatchObject({
      type: 'customer',
      id: 'c-1',
      version: 2,
      state: { name: 'Ada', address: '1 Main St' },
      source: 'authority',
    });
    expect(Date.parse(got.updatedAt!)).not.toBeNaN();
    expect(Object.isFrozen(got) && Object.isFrozen(got.state)).toBe(true);
    expect(authority.requests[0]!.headers['tidemark-consumer']).toBe('communications');
  });

  it('raises typed errors for 404, 403 and a minVersion the authority does not reach', async () => {
    authority.write('c-1', { name: 'Ada' });
    const c = client();
    await expect(c.get('customer', 'nobody')).rejects.toMatchObject({
      code: 'TM_ENTITY_NOT_FOUND',
      retryable: false,
    });
    await expect(c.get('customer', 'c-1', { minVersion: 2 })).rejects.toMatchObject({
      code: 'TM_VERSION_NOT_REACHED',
      retryable: true,
      context: { currentVersion: 1, minVersion: 2 },
    });
    const strict = await startAuthority({ fields: { billing: { customer: ['name'] } } });
    try {
      const refused = createPullClient({ baseUrl: strict.baseUrl, consumer: 'communications', retries: 0 });
      clients.push(refused);
      await expect(refused.get('customer', 'c-1')).rejects.toMatchObject({
        code: 'TM_CONSUMER_NOT_ALLOWED',
        message: expect.stringMatching(/consumer 'communications' has no field allow-list/),
      });
    } finally {
      await strict.close();
    }
  });

  it('refuses bad arguments and options with TM_INVALID_ARGUMENT naming them', async () => {
    const c = client();
    await expect(c.get('customer', '')).rejects.toMatchObject({
      code: 'TM_INVALID_ARGUMENT',
      context: { argument: 'id' },
    });
    await expect(c.get('customer', 'x', { minVersion: 0 })).rejects.toThrow(
      /minVersion must be an integer from 1, got 0/,
    );
    await expect(c.get('customer', 'x', { tier: 'fresh' as never })).rejects.toThrow(
      /tier must be one of strong/,
    );
    expect(() => createPullClient({ baseUrl: 'ftp://x', consumer: 'a' })).toThrow(
      /option baseUrl: expected an http\(s\) URL/,
    );
    expect(() => createPullClient({ baseUrl: 'http://x', consumer: '' })).toThrow(/option consumer/);
    expect(() => createPullClient({ baseUrl: 'http://x', consumer: 'a', maxConcurrent: 0 })).toThrow(
      /option maxConcurrent: expected an integer from 1, got 0/,
    );
    expect(authority.requests).toHaveLength(0);
  });

  it('reads many entities with batchGet, 100 ids per request, and fills the cache', async () => {
    for (let i = 0; i < 150; i++) authority.write(`c-${i}`, { n: i });
    authority.write('c-7', { n: 7, again: true });
    const c = client();
    const ids = [...Array.from({ length: 150 }, (_, i) => `c-${i}`), 'nobody-1', 'nobody-2'];
    const result = await c.batchGet('customer', ids, { minVersions: { 'c-7': 2, 'c-8': 2 } });
    expect(authority.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(result.entities).toHaveLength(149);
    expect(result.missing).toEqual(['nobody-1', 'nobody-2']);
    expect(result.behind).toEqual([{ id: 'c-8', currentVersion: 1, minVersion: 2 }]);
    expect(result.entities.find((e) => e.id === 'c-7')).toMatchObject({ version: 2, state: { again: true } });
    expect(c.cached('customer', 'c-149')).toMatchObject({ version: 1, source: 'cache' });
  });
});

describe('request coalescing', () => {
  it('serves N concurrent reads of the same entity and minVersion with one request', async () => {
    authority.write('c-1', { name: 'Ada' });
    authority.delayMs = 50;
    const c = client();
    const results = await Promise.all(Array.from({ length: 50 }, () => c.get('customer', 'c-1')));
    expect(getsOf(authority, 'customer', 'c-1')).toHaveLength(1);
    expect(new Set(results.map((r) => r.version))).toEqual(new Set([1]));
    expect(c.stats().inFlight).toBe(0);
  });

  it('does not merge reads with different minVersions or ids', async () => {
    authority.write('c-1', { v: 1 });
    authority.write('c-1', { v: 2 });
    authority.write('c-2', { v: 1 });
    authority.delayMs = 30;
    const c = client();
    await Promise.all([
      ...Array.from({ length: 10 }, () => c.get('customer', 'c-1', { minVersion: 1 })),
      ...Array.from({ length: 10 }, () => c.get('customer', 'c-1', { minVersion: 2 })),
      ...Array.from({ length: 10 }, () => c.get('customer', 'c-2')),
    ]);
    expect(authority.requests.map((r) => r.url).sort()).toEqual([
      '/entities/customer/c-1?minVersion=1',
      '/entities/customer/c-1?minVersion=2',
      '/entities/customer/c-2',
    ]);
  });

  it('shares a failure too, and the next read tries again', async () => {
    authority.delayMs = 30;
    const c = client();
    const results = await settle(Array.from({ length: 5 }, () => c.get('customer', 'ghost')));
    expect(
      results.every((r) => r.status === 'rejected' && isTidemarkError(r.reason, 'TM_ENTITY_NOT_FOUND')),
    ).toBe(true);
    expect(authority.requests).toHaveLength(1);
    authority.write('ghost', { here: true });
    await expect(c.get('customer', 'ghost')).resolves.toMatchObject({ version: 1 });
  });
});

describe('bulkhead', () => {
  it('runs at most maxConcurrent requests, queues up to maxQueued, and fails the rest fast', async () => {
    for (let i = 0; i < 10; i++) authority.write(`c-${i}`, { i });
    authority.delayMs = 200;
    const c = client({ maxConcurrent: 2, maxQueued: 3 });
    const started = Date.now();
    const calls = Array.from({ length: 10 }, (_, i) => c.get('customer', `c-${i}`));
    const failedAt: number[] = [];
    calls.forEach((p) => p.catch(() => failedAt.push(Date.now() - started)));
    await sleep(20);
    expect(c.stats()).toMatchObject({ active: 2, queued: 3 });
    const results = await settle(calls);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(rejected).toHaveLength(5);
    for (const r of rejected) {
      expect(r.reason).toMatchObject({
        code: 'TM_AUTHORITY_UNAVAILABLE',
        retryable: true,
        context: { reason: 'bulkhead-full', maxConcurrent: 2, maxQueued: 3 },
      });
    }
    expect(Math.max(...failedAt)).toBeLessThan(100); // failed before any request was answered
    expect(authority.maxInProgress).toBe(2);
    expect(authority.requests).toHaveLength(5);
  });

  it('fails queued reads with TM_CLOSED when the client is closed, and later calls too', async () => {
    authority.write('a', {});
    authority.write('b', {});
    authority.delayMs = 100;
    const c = client({ maxConcurrent: 1, maxQueued: 5 });
    const running = c.get('customer', 'a');
    const queued = c.get('customer', 'b');
    await sleep(10);
    c.close();
    await expect(queued).rejects.toMatchObject({ code: 'TM_CLOSED' });
    await expect(running).resolves.toMatchObject({ id: 'a' });
    await expect(c.get('customer', 'a')).rejects.toMatchObject({ code: 'TM_CLOSED' });
  });
});

describe('retries', () => {
  it('retries 5xx answers with jitter and succeeds within its retries', async () => {
    authority.write('c-1', { name: 'Ada' });
    authority.failNext(2, 503);
    await expect(client({ retries: 2 }).get('customer', 'c-1')).resolves.toMatchObject({ version: 1 });
    expect(authority.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('gives up after its retries with TM_AUTHORITY_UNAVAILABLE naming the status', async () => {
    authority.write('c-1', { name: 'Ada' });
    authority.failNext(5, 500);
    await expect(client({ retries: 1 }).get('customer', 'c-1')).rejects.toMatchObject({
      code: 'TM_AUTHORITY_UNAVAILABLE',
      context: { reason: 'status', status: 500 },
    });
    expect(authority.requests).toHaveLength(2);
  });

  it('retries a 409 until the authority reaches minVersion', async () => {
    authority.write('c-1', { v: 1 });
    authority.onRequest = () => {
      if (authority.requests.length === 2) authority.write('c-1', { v: 2 });
    };
    const got = await client({ retries: 3 }).get('customer', 'c-1', { minVersion: 2 });
    expect(got).toMatchObject({ version: 2, state: { v: 2 } });
    expect(authority.requests.map((r) => r.status)).toEqual([409, 200]);
  });

  it('does not retry answers that will not change (404, 400)', async () => {
    const c = client({ retries: 3 });
    await expect(c.get('customer', 'nobody')).rejects.toMatchObject({ code: 'TM_ENTITY_NOT_FOUND' });
    expect(authority.requests).toHaveLength(1);
  });

  it('times out a slow authority after timeoutMs and retries it', async () => {
    authority.write('c-1', {});
    // The answer would take 3 s; two attempts of 100 ms give up long before it (with room for a
    // loaded machine), which is the behaviour under test, not a speed.
    authority.delayMs = 3_000;
    const started = Date.now();
    await expect(client({ timeoutMs: 100, retries: 1 }).get('customer', 'c-1')).rejects.toMatchObject({
      code: 'TM_AUTHORITY_UNAVAILABLE',
      context: { reason: 'timeout' },
    });
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(authority.requests).toHaveLength(2);
  });

  it('retries a refused connection', async () => {
    authority.write('c-1', {});
    await authority.stop();
    const c = client({ retries: 4, backoff: { baseDelayMs: 40, maxDelayMs: 40 }, random: () => 1 });
    const read = c.get('customer', 'c-1');
    await sleep(60);
    await authority.start();
    await expect(read).resolves.toMatchObject({ version: 1 });
  });
});

describe('circuit breaker', () => {
  it('opens when the authority is down, fails fast without calling it, and closes when it is back', async () => {
    authority.write('c-1', { name: 'Ada' });
    const c = client({
      retries: 0,
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeout: 300 },
    });
    await expect(c.get('customer', 'c-1')).resolves.toMatchObject({ version: 1 });
    await authority.stop();
    const reasons: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const error = await c.get('customer', 'c-1').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TM_AUTHORITY_UNAVAILABLE', retryable: true });
      reasons.push((error as { context: { reason: unknown } }).context.reason);
    }
    expect(reasons.slice(0, 2)).toEqual(['network', 'network']);
    expect(reasons.at(-1)).toBe('breaker-open');
    expect(c.stats().breaker).toBe('open');

    await authority.start();
    const before = authority.requests.length;
    await expect(c.get('customer', 'c-1')).rejects.toMatchObject({ context: { reason: 'breaker-open' } });
    expect(authority.requests.length).toBe(before); // open: not even tried

    await sleep(350);
    expect(c.stats().breaker).toBe('half-open');
    await expect(c.get('customer', 'c-1')).resolves.toMatchObject({ version: 1 });
    expect(c.stats().breaker).toBe('closed');
    expect(authority.requests.length).toBe(before + 1);
  });

  it('is not opened by answers that prove the authority is up (404)', async () => {
    const c = client({ breaker: { volumeThreshold: 2, errorThresholdPercentage: 10, resetTimeout: 10_000 } });
    for (let i = 0; i < 10; i++)
      await expect(c.get('customer', `no-${i}`)).rejects.toMatchObject({ code: 'TM_ENTITY_NOT_FOUND' });
    expect(c.stats().breaker).toBe('closed');
  });
});

describe('tiers', () => {
  it('strong always asks the authority, revalidating a cached copy with If-None-Match (304)', async () => {
    authority.write('c-1', { name: 'Ada' });
    const c = client();
    const first = await c.get('customer', 'c-1', { tier: 'strong' });
    const second = await c.get('customer', 'c-1', { tier: 'strong' });
    expect(authority.requests.map((r) => [r.headers['if-none-match'], r.status])).toEqual([
      [undefined, 200],
      ['"1"', 304],
    ]);
    expect(second).toMatchObject({ version: 1, state: first.state, source: 'authority' });
    authority.write('c-1', { name: 'Ada B.' });
    expect(await c.get('customer', 'c-1')).toMatchObject({ version: 2, state: { name: 'Ada B.' } });
    expect(authority.requests.at(-1)!.status).toBe(200);
  });

  it('eventual serves the cache within ttlMs and fetches after it', async () => {
    const clock = manualClock();
    authority.write('c-1', { v: 1 });
    const c = client({ clock, cache: { ttlMs: 1_000 } });
    await c.get('customer', 'c-1', { tier: 'eventual' });
    authority.write('c-1', { v: 2 });
    clock.advance(999);
    expect(await c.get('customer', 'c-1', { tier: 'eventual' })).toMatchObject({
      version: 1,
      source: 'cache',
    });
    clock.advance(1);
    expect(await c.get('customer', 'c-1', { tier: 'eventual' })).toMatchObject({
      version: 2,
      source: 'authority',
    });
    expect(getsOf(authority, 'customer', 'c-1')).toHaveLength(2);
  });

  it('bounded serves the cache only when fresh enough and at least minVersion', async () => {
    const clock = manualClock();
    authority.write('c-1', { v: 1 });
    const c = client({ clock, cache: { ttlMs: 60_000 } });
    await c.get('customer', 'c-1');
    clock.advance(100);
    expect(await c.get('customer', 'c-1', { tier: 'bounded', maxStalenessMs: 100 })).toMatchObject({
      source: 'cache',
    });
    expect(await c.get('customer', 'c-1', { tier: 'bounded', maxStalenessMs: 99 })).toMatchObject({
      source: 'authority',
    });
    authority.write('c-1', { v: 2 });
    expect(
      await c.get('customer', 'c-1', { tier: 'bounded', maxStalenessMs: 60_000, minVersion: 2 }),
    ).toMatchObject({
      version: 2,
      source: 'authority',
    });
    expect(authority.requests.at(-1)!.url).toBe('/entities/customer/c-1?minVersion=2');
  });

  it('never lets a lagging answer replace a newer cached copy', async () => {
    const clock = manualClock();
    authority.write('c-1', { v: 1 });
    authority.write('c-1', { v: 2 });
    const c = client({ clock });
    await c.get('customer', 'c-1');
    authority.put('c-1', 1, { v: 1 }); // a replica behind
    expect(await c.get('customer', 'c-1')).toMatchObject({ version: 1 }); // strong says what the authority said
    expect(c.cached('customer', 'c-1')).toMatchObject({ version: 2 });
  });
});

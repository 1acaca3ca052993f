import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer, type Outcome, type RetryPolicy } from '../../src/consumer/index.js';
import { createDeadLetterAdmin } from '../../src/dlq/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { createPullClient, notifyFetchHandler, type PullClient } from '../../src/pull/index.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { openPGlite } from '../../src/store/pglite/index.js';
import { embeddedDb, uniqueSchema, type TestDb } from '../support/services.js';
import { getsOf, startAuthority, type TestAuthority } from './authority.js';

/**
 * notify-fetch end to end: the authority's read API on a real server (in-memory state), its
 * postgres-log backbone in a PGlite of its own (the authority's database, as in the embedded
 * deployment), and a consumer with its own PGlite receiving thin notices, fetching through the
 * pull client and writing the fetched state into its own table. Fetches are counted at the
 * authority's server.
 */

interface Contact {
  readonly address: string;
}

const notice = (entityId: string, version: number): Envelope =>
  createEnvelope({
    kind: 'notice',
    authority: 'profile',
    entityType: 'customer',
    entityId,
    entityVersion: version,
  });

const tombstone = (entityId: string, version: number): Envelope =>
  createEnvelope({
    kind: 'tombstone',
    authority: 'profile',
    entityType: 'customer',
    entityId,
    entityVersion: version,
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let authorityDb: Db;
beforeAll(async () => {
  authorityDb = await openPGlite();
});
afterAll(async () => {
  await authorityDb?.close();
});

describe('notify-fetch', () => {
  let t: TestDb;
  let logSchema: string;
  let authority: TestAuthority;
  let client: PullClient;
  let backbone: PostgresLogBackbone;
  let consumer: Consumer | undefined;
  let applyCalls: number;
  const outcomes: Outcome[] = [];

  async function startConsumer(retry: RetryPolicy): Promise<void> {
    consumer = createConsumer({
      name: 'communications',
      db: t.db,
      backbone,
      schema: t.schema,
      retry,
      repairIntervalMs: 50,
      onOutcome: (o) => outcomes.push(o),
      handlers: {
        customer: notifyFetchHandler<Contact>({
          client,
          entityType: 'customer',
          async apply(tx, state, { id, version }) {
            applyCalls++;
            await tx.query(
              `INSERT INTO "${t.schema}".contacts (id, version, address) VALUES ($1, $2, $3)
               ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, address = EXCLUDED.address
               WHERE contacts.version <= EXCLUDED.version`,
              [id, version, state.address],
            );
          },
          async onDelete(tx, { id }) {
            await tx.query(`DELETE FROM "${t.schema}".contacts WHERE id = $1`, [id]);
          },
        }),
      },
    });
    await consumer.start();
  }

  beforeEach(async () => {
    t = await embeddedDb();
    await t.db.query(
      `CREATE TABLE "${t.schema}".contacts (id text PRIMARY KEY, version int NOT NULL, address text NOT NULL)`,
    );
    authority = await startAuthority();
    client = createPullClient({
      baseUrl: authority.baseUrl,
      consumer: 'communications',
      // Long enough that a loaded machine does not turn one slow answer into a retried request.
      timeoutMs: 2_000,
      retries: 1,
      backoff: { baseDelayMs: 5, maxDelayMs: 20 },
      breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeout: 200 },
    });
    logSchema = uniqueSchema('log');
    await migrate(authorityDb, logSchema);
    backbone = await createPostgresLog({
      db: authorityDb,
      schema: logSchema,
      partitions: 4,
      timing: { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 },
    });
    applyCalls = 0;
    outcomes.length = 0;
  });

  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
    client.close();
    await authority.close();
    await t.cleanup();
    await authorityDb.query(`DROP SCHEMA IF EXISTS "${logSchema}" CASCADE`);
  });

  const contact = async (id: string) =>
    (
      await t.db.query<{ version: number; address: string }>(
        `SELECT version, address FROM "${t.schema}".contacts WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('turns a burst of 1,000 notices for one entity into a handful of fetches and ends with the latest state', async () => {
    await startConsumer({ attempts: 5, baseDelayMs: 5, maxDelayMs: 20 });
    // The authority changes the customer 1,000 times; each change's notice is published as it
    // happens (ten publishes of 100, issued without waiting for one another).
    const started = performance.now();
    const published: Promise<void>[] = [];
    for (let round = 0; round < 10; round++) {
      const notices: Envelope[] = [];
      for (let k = 0; k < 100; k++) {
        const version = authority.write('c-1', { address: `${authority.version('c-1') + 1} Harbour Road` });
        notices.push(notice('c-1', version));
      }
      published.push(backbone.publish(notices));
    }
    const issuedMs = performance.now() - started;
    await Promise.all(published);
    const loggedMs = performance.now() - started;

    await expect
      .poll(() => consumer!.appliedVersion('customer', 'c-1'), { timeout: 30_000, interval: 50 })
      .toBe(1_000);
    expect(await contact('c-1')).toEqual({ version: 1_000, address: '1000 Harbour Road' });
    expect(outcomes.filter((o) => o.kind === 'applied')).toHaveLength(1_000);
    expect(applyCalls).toBe(1_000);
    const fetches = getsOf(authority, 'customer', 'c-1');
    console.log(
      `notify-fetch: 1,000 notices issued in ${issuedMs.toFixed(0)} ms (all in the log after ${loggedMs.toFixed(0)} ms) -> ` +
        `${fetches.length} fetch(es): ${fetches.map((r) => `${r.url.split('?')[1]} ${r.status}`).join(', ')}`,
    );
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    expect(fetches.length).toBeLessThanOrEqual(5);
  });

  it('costs one fetch each time the authority got ahead of the consumer, not one per notice', async () => {
    await startConsumer({ attempts: 5, baseDelayMs: 5, maxDelayMs: 20 });
    // Five rounds; each waits until the consumer caught up, so the authority gets ahead five times.
    for (let round = 1; round <= 5; round++) {
      const notices: Envelope[] = [];
      for (let k = 0; k < 50; k++)
        notices.push(notice('c-2', authority.write('c-2', { address: `${round}/${k} Pier` })));
      await backbone.publish(notices);
      await expect
        .poll(() => consumer!.appliedVersion('customer', 'c-2'), { timeout: 20_000, interval: 20 })
        .toBe(round * 50);
    }
    expect(await contact('c-2')).toEqual({ version: 250, address: '5/49 Pier' });
    expect(getsOf(authority, 'customer', 'c-2').map((r) => r.url.split('?')[1])).toEqual([
      'minVersion=1',
      'minVersion=51',
      'minVersion=101',
      'minVersion=151',
      'minVersion=201',
    ]);
  });

  it('collapses concurrent notices of one entity into one fetch with the highest minVersion', async () => {
    for (let v = 1; v <= 3; v++) authority.write('c-9', { address: `${v} Quay` });
    authority.delayMs = 30;
    const seen: number[] = [];
    const ignore = () => {};
    const context = {
      consumer: 'x',
      attempt: 1,
      table: (n: string) => n,
      hold: ignore,
      defer: ignore,
      block: ignore,
      reject: ignore,
    };
    const tx = { query: async () => ({ rows: [], rowCount: 0 }) };
    const capture = notifyFetchHandler<Contact>({
      client,
      entityType: 'customer',
      debounceMs: 10,
      apply: async (_tx, _state, { version }) => void seen.push(version),
    });
    await Promise.all([1, 3, 2].map((v) => capture.apply(tx, notice('c-9', v), context)));
    expect(getsOf(authority, 'customer', 'c-9').map((r) => r.url)).toEqual([
      '/entities/customer/c-9?minVersion=3',
    ]);
    expect(seen).toEqual([3, 3, 3]);
    // A later notice the fetched state covers needs no request; a newer one does.
    await capture.apply(tx, notice('c-9', 2), context);
    expect(getsOf(authority, 'customer', 'c-9')).toHaveLength(1);
    authority.write('c-9', { address: '4 Quay' });
    await capture.apply(tx, notice('c-9', 4), context);
    expect(getsOf(authority, 'customer', 'c-9')).toHaveLength(2);
    expect(seen).toEqual([3, 3, 3, 3, 4]);
  });

  it('keeps retrying notices while the authority is down, and applies them once it is back', async () => {
    await startConsumer({ attempts: 1_000, baseDelayMs: 20, maxDelayMs: 100 });
    await authority.stop();
    for (const id of ['a', 'b', 'c']) {
      const notices = [1, 2, 3].map((k) => notice(id, authority.write(id, { address: `${k} ${id} Street` })));
      await backbone.publish(notices);
    }
    await sleep(1_000);
    expect(client.stats().breaker).not.toBe('closed');
    expect(outcomes.filter((o) => o.kind === 'applied')).toHaveLength(0);
    expect(await contact('a')).toBeUndefined();

    await authority.start();
    for (const id of ['a', 'b', 'c']) {
      await expect
        .poll(() => contact(id), { timeout: 15_000, interval: 50 })
        .toEqual({
          version: 3,
          address: `3 ${id} Street`,
        });
    }
    await expect.poll(() => consumer!.appliedVersion('customer', 'c'), { timeout: 5_000 }).toBe(3);
    expect(outcomes.filter((o) => o.kind === 'dead-lettered')).toEqual([]);
    expect(await createDeadLetterAdmin({ db: t.db, schema: t.schema }).list()).toEqual([]);
  });

  it('dead-letters a notice whose retries ran out with TM_AUTHORITY_UNAVAILABLE; an operator retry applies it and the parked ones', async () => {
    await startConsumer({ attempts: 2, baseDelayMs: 5, maxDelayMs: 10 });
    const admin = createDeadLetterAdmin({ db: t.db, schema: t.schema });
    await authority.stop();
    await backbone.publish([1, 2].map((k) => notice('d', authority.write('d', { address: `${k} Dock` }))));
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(2);
    const [head, parked] = await admin.list();
    expect(head).toMatchObject({ status: 'open', code: 'TM_AUTHORITY_UNAVAILABLE', entityVersion: 1 });
    expect(parked).toMatchObject({ status: 'parked', entityVersion: 2 });

    await authority.start();
    await sleep(250); // past the breaker's resetTimeout
    await admin.retry(head!.id, { actor: 'ops', reason: 'profile read API back' });
    await expect.poll(() => contact('d'), { timeout: 10_000 }).toEqual({ version: 2, address: '2 Dock' });
    await expect.poll(async () => (await admin.list()).length, { timeout: 5_000 }).toBe(0);
  });

  it('applies a tombstone with onDelete, and skips a notice for an entity deleted since', async () => {
    await startConsumer({ attempts: 3, baseDelayMs: 5, maxDelayMs: 10 });
    await backbone.publish([notice('e', authority.write('e', { address: '1 Elm' }))]);
    await expect.poll(() => contact('e'), { timeout: 10_000 }).toEqual({ version: 1, address: '1 Elm' });
    authority.write('e', { address: '2 Elm' });
    authority.remove('e');
    await backbone.publish([notice('e', 2), tombstone('e', 3)]);
    await expect.poll(() => consumer!.appliedVersion('customer', 'e'), { timeout: 10_000 }).toBe(3);
    expect(await contact('e')).toBeUndefined();
    expect(outcomes.map((o) => [o.kind, o.envelope.entityversion])).toEqual([
      ['applied', 1],
      ['applied', 2],
      ['applied', 3],
    ]);
  });
});

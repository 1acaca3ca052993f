import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer, type GapHeal, type Outcome } from '../../src/consumer/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { createMetrics, observeGapHeals } from '../../src/obs/index.js';
import { createPullClient, type PullClient } from '../../src/pull/index.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { waitUntil } from '../support/wait.js';
import { getsOf, startAuthority, type TestAuthority } from './authority.js';

/**
 * Gap healing end to end: a push-domain consumer (Policy) on each database, the authority's
 * read API on a real Fastify server on 127.0.0.1, and domain events of which one never arrives.
 */

const kinds = await databaseKinds();

interface Moved {
  readonly address: string;
}

const moved = (version: number, address: string): Envelope<Moved> =>
  createEnvelope({
    kind: 'domain',
    type: 'CustomerMoved',
    authority: 'profile',
    entityType: 'customer',
    entityId: 'c-1',
    entityVersion: version,
    data: { address },
  });

const address = (version: number) => `${version} Harbour Road`;

describe.each(kinds)('gap healing by pull on $name', (kind) => {
  let t: TestDb;
  let authority: TestAuthority;
  let client: PullClient;
  let consumer: Consumer;
  let stepsApplied: number[];
  let statesApplied: { version: number; fromVersion: number }[];
  const heals: GapHeal[] = [];
  const outcomes: Outcome[] = [];
  const metrics = createMetrics();

  beforeEach(async () => {
    t = await kind.open();
    await t.db.query(
      `CREATE TABLE "${t.schema}".addresses (id text PRIMARY KEY, address text NOT NULL, source text NOT NULL)`,
    );
    authority = await startAuthority();
    client = createPullClient({
      baseUrl: authority.baseUrl,
      consumer: 'policy',
      timeoutMs: 500,
      retries: 0,
      breaker: { volumeThreshold: 100, resetTimeout: 100 },
    });
    stepsApplied = [];
    statesApplied = [];
    heals.length = 0;
    outcomes.length = 0;
    const countHeal = observeGapHeals(metrics, `policy-${t.schema}`);
    consumer = createConsumer({
      name: 'policy',
      db: t.db,
      schema: t.schema,
      backbone: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 1 }),
      repairIntervalMs: 25,
      onOutcome: (o) => outcomes.push(o),
      handlers: {
        customer: {
          kinds: ['domain'],
          async apply(tx, e: Envelope<Moved>) {
            stepsApplied.push(e.entityversion);
            await tx.query(
              `INSERT INTO "${t.schema}".addresses (id, address, source) VALUES ($1, $2, 'event')
               ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, source = 'event'`,
              [e.entityid, e.data!.address],
            );
          },
        },
      },
      gapHealing: {
        client,
        afterMs: 150,
        async applyState(tx, state: Moved, entity) {
          statesApplied.push({ version: entity.version, fromVersion: entity.fromVersion });
          await tx.query(
            `INSERT INTO "${t.schema}".addresses (id, address, source) VALUES ($1, $2, 'pull')
             ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, source = 'pull'`,
            [entity.id, state.address],
          );
        },
        onHeal: (heal) => {
          heals.push(heal);
          countHeal(heal);
        },
      },
    });
  });

  afterEach(async () => {
    await consumer.stop();
    client.close();
    await authority.close();
    await t.cleanup();
  });

  const row = async () =>
    (
      await t.db.query<{ address: string; source: string }>(
        `SELECT address, source FROM "${t.schema}".addresses WHERE id = 'c-1'`,
      )
    ).rows[0];
  const appliedStages = async () =>
    (
      await t.db.query<{ version: number; detail: Record<string, unknown> }>(
        `SELECT entity_version AS version, detail FROM "${t.schema}".ledger_stages
         WHERE entity_type = 'customer' AND entity_id = 'c-1' AND context = 'policy' AND stage = 'applied'
         ORDER BY entity_version`,
      )
    ).rows.map((r) => ({ version: Number(r.version), detail: r.detail }));
  const healsCounted = async (result: string) =>
    (await metrics.consumerGapHeals.get()).values.find(
      (v) => v.labels.consumer === `policy-${t.schema}` && v.labels.result === result,
    )?.value ?? 0;

  it('heals a dropped domain event by pulling the state, and the held events it covers are not applied again', async () => {
    // Given the authority at version 4 and a consumer that received 1, 3 and 4 (2 was lost)
    for (let v = 1; v <= 4; v++) authority.write('c-1', { address: address(v) });
    for (const v of [1, 3, 4]) await consumer.handle(moved(v, address(v)));
    expect(await consumer.heldCount()).toBe(2);
    expect(stepsApplied).toEqual([1]);

    // When the consumer runs and version 2 never comes
    await consumer.start();
    await waitUntil(() => consumer.appliedVersion('customer', 'c-1'), 4, 20_000, 'the gap to heal');

    // Then the state of version 4 replaced the missing step, once, and the held events were dropped
    expect(await row()).toEqual({ address: address(4), source: 'pull' });
    expect(statesApplied).toEqual([{ version: 4, fromVersion: 1 }]);
    expect(stepsApplied).toEqual([1]);
    expect(await consumer.heldCount()).toBe(0);
    expect(getsOf(authority, 'customer', 'c-1').map((r) => r.url)).toEqual([
      '/entities/customer/c-1?minVersion=2',
    ]);
    expect(heals).toEqual([
      expect.objectContaining({ result: 'healed', fromVersion: 1, toVersion: 4, covered: 2, released: 0 }),
    ]);
    expect(await healsCounted('healed')).toBe(1);
    // The ledger says the context has applied every version, the healed one by pull
    const stages = await appliedStages();
    expect(stages.map((s) => s.version)).toEqual([1, 3, 4]);
    expect(stages.find((s) => s.version === 4)?.detail).toMatchObject({ healedBy: 'pull', fromVersion: 1 });
    expect(stages.find((s) => s.version === 3)?.detail).toMatchObject({ healedBy: 'pull', coveredBy: 4 });

    // And when the lost event and a held one turn up late, they are duplicates
    const late = await consumer.handle(moved(2, address(2)));
    const again = await consumer.handle(moved(3, address(3)));
    expect([...late, ...again].map((o) => o.kind)).toEqual(['duplicate', 'duplicate']);
    expect(stepsApplied).toEqual([1]);
    expect(await row()).toEqual({ address: address(4), source: 'pull' });
  });

  it('applies the held events newer than the pulled state after it, in order', async () => {
    // Given a read API that answers from a copy still at version 2 (a replica behind the log)
    authority.put('c-1', 2, { address: address(2) });
    for (const v of [1, 3, 4]) await consumer.handle(moved(v, address(v)));

    await consumer.start();
    await waitUntil(() => consumer.appliedVersion('customer', 'c-1'), 4, 20_000, 'the gap to heal');

    // Then state 2 filled the gap, and 3 and 4 were applied as events after it
    expect(statesApplied).toEqual([{ version: 2, fromVersion: 1 }]);
    expect(stepsApplied).toEqual([1, 3, 4]);
    expect(await row()).toEqual({ address: address(4), source: 'event' });
    expect(heals).toEqual([
      expect.objectContaining({ result: 'healed', fromVersion: 1, toVersion: 2, covered: 0, released: 2 }),
    ]);
    expect(outcomes.filter((o) => o.kind === 'applied').map((o) => o.envelope.entityversion)).toEqual([
      1, 3, 4,
    ]);
    expect((await appliedStages()).map((s) => s.version)).toEqual([1, 2, 3, 4]);
    expect(await consumer.heldCount()).toBe(0);
  });

  it('keeps the events held while the authority is down, and heals once it is back', async () => {
    for (let v = 1; v <= 3; v++) authority.write('c-1', { address: address(v) });
    await authority.stop();
    for (const v of [1, 3]) await consumer.handle(moved(v, address(v)));

    await consumer.start();
    await waitUntil(async () => heals.some((h) => h.result === 'failed'), true, 20_000, 'a failed heal');
    expect(await consumer.appliedVersion('customer', 'c-1')).toBe(1);
    expect(await consumer.heldCount()).toBe(1);
    expect(await healsCounted('failed')).toBeGreaterThan(0);
    expect(heals.find((h) => h.result === 'failed')?.code).toBe('TM_AUTHORITY_UNAVAILABLE');

    await authority.start();
    await waitUntil(() => consumer.appliedVersion('customer', 'c-1'), 3, 20_000, 'the gap to heal');
    expect(await row()).toEqual({ address: address(3), source: 'pull' });
    expect(heals.filter((h) => h.result === 'healed')).toHaveLength(1);
    expect(stepsApplied).toEqual([1]);
  });

  it('does not touch an entity whose gap closes by itself before the wait is over', async () => {
    authority.write('c-1', { address: address(1) });
    await consumer.handle(moved(2, address(2)));
    await consumer.handle(moved(1, address(1)));
    expect(stepsApplied).toEqual([1, 2]);
    expect(await consumer.heldCount()).toBe(0);
    await consumer.start();
    // A later gap heals, which proves the loop ran meanwhile without touching the closed one
    await consumer.handle(moved(4, address(4)));
    authority.write('c-1', { address: address(2) });
    authority.write('c-1', { address: address(3) });
    authority.write('c-1', { address: address(4) });
    await waitUntil(() => consumer.appliedVersion('customer', 'c-1'), 4, 20_000, 'the gap to heal');
    expect(statesApplied).toEqual([{ version: 4, fromVersion: 2 }]);
    expect(getsOf(authority, 'customer', 'c-1')).toHaveLength(1);
  });
});

describe('gap healing options', () => {
  it('refuses a bad afterMs, naming the option', async () => {
    const [pglite] = kinds;
    const t = await pglite!.open();
    try {
      const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 1 });
      expect(() =>
        createConsumer({
          name: 'policy',
          db: t.db,
          schema: t.schema,
          backbone,
          handlers: {},
          gapHealing: {
            client: { get: async () => ({ version: 1, state: {} }) },
            afterMs: -1,
            applyState: async () => {},
          },
        }),
      ).toThrow(/gapHealing\.afterMs: expected an integer from 0, got -1/);
    } finally {
      await t.cleanup();
    }
  });
});

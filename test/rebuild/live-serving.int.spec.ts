import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { waitUntil } from '../support/wait.js';
import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createProducer, registerAuthority, type Producer } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';

const available = await postgresAvailable();

/**
 * While a rebuild fills the shadow table, the live table must stay readable without waiting
 * for a lock and the live consumer must go on applying new events to it. The probe runs from
 * inside the rebuild's first shadow write, so it happens during the rebuild by construction.
 * Server PostgreSQL only: PGlite has one connection, so nothing can read alongside.
 */
describe.runIf(available)('rebuild keeps the old projection serving (server PostgreSQL)', () => {
  let t: TestDb;
  let backbone: PostgresLogBackbone;
  let relay: Relay;
  let producer: Producer;
  let consumer: Consumer;
  let liveTable: string | undefined;
  let probe: (() => Promise<void>) | undefined;
  const s = () => `"${t.schema}"`;

  const write = (id: string, amount: number) =>
    t.db.transaction(async (tx) => {
      const { version } = await producer.append(
        tx,
        { type: 'account', id },
        { kind: 'state', data: { amount } },
      );
      await tx.query(
        `INSERT INTO ${s()}.accounts VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET amount = $2, version = $3`,
        [id, amount, version],
      );
    });
  const liveAmount = async (id: string) =>
    (await t.db.query<{ amount: number }>(`SELECT amount FROM ${s()}.balances WHERE id = $1`, [id])).rows[0]
      ?.amount;

  beforeEach(async () => {
    t = await serverDb({ max: 12 });
    await registerAuthority(t.db, { entityType: 'account', context: 'bank' }, t.schema);
    await t.db.query(
      `CREATE TABLE ${s()}.accounts (id text PRIMARY KEY, amount int NOT NULL, version int NOT NULL)`,
    );
    await t.db.query(
      `CREATE TABLE ${s()}.balances (id text PRIMARY KEY, amount int NOT NULL, version int NOT NULL)`,
    );
    backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 4, timing: { pollMs: 20 } });
    relay = createRelay({ db: t.db, backbone, schema: t.schema, pollMs: 20 });
    producer = createProducer({ context: 'bank', schema: t.schema });
    liveTable = undefined;
    probe = undefined;
    consumer = createConsumer({
      name: 'ledger-view',
      db: t.db,
      backbone,
      schema: t.schema,
      projection: { tables: ['balances'] },
      handlers: {
        account: {
          kinds: ['state'],
          async apply(tx, e: Envelope<{ amount: number }>, context) {
            const table = context.table('balances');
            liveTable ??= table;
            if (table !== liveTable && probe) {
              const run = probe;
              probe = undefined;
              await run();
            }
            await tx.query(
              `INSERT INTO ${table} VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET amount = $2, version = $3`,
              [e.entityid, e.data!.amount, e.entityversion],
            );
          },
        },
      },
    });
    relay.start();
    await consumer.start();
  });
  afterEach(async () => {
    await consumer.stop();
    await relay.stop();
    await t.cleanup();
  });

  it('reads the live table without waiting for a lock, and applies new events to it, mid-rebuild', async () => {
    for (let i = 0; i < 30; i++) await write(`a${i % 10}`, i);
    await waitUntil(() => liveAmount('a9'), 29, 20_000, 'the projection to catch up');

    let probed = false;
    probe = async () => {
      // A lock held by the rebuild on the live table would fail this read instead of delaying it.
      const served = await t.db.transaction(async (tx) => {
        await tx.query(`SET LOCAL lock_timeout = '2s'`);
        return (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s()}.balances`)).rows[0]!.n;
      });
      expect(served).toBe(10);
      // A change published now reaches the live table through the live consumer before the rebuild
      // ends. Published straight to the log: this probe runs inside the rebuild's open transaction,
      // which (same database) rightly holds the gap-safe relay's horizon until it commits.
      await backbone.publish([
        createEnvelope({
          kind: 'state',
          authority: 'bank',
          entityType: 'account',
          entityId: 'fresh',
          entityVersion: 1,
          data: { amount: 777 },
        }),
      ]);
      await waitUntil(
        () => liveAmount('fresh'),
        777,
        20_000,
        'the live consumer to apply during the rebuild',
      );
      probed = true;
    };

    const result = await consumer.rebuild();
    expect(probed).toBe(true);
    expect(result.tables).toEqual(['balances']);
    // After the swap the rebuilt table holds the change the live consumer applied meanwhile.
    await waitUntil(() => liveAmount('fresh'), 777, 20_000, 'the rebuilt table to hold the fresh change');
    const count = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s()}.balances`);
    expect(count.rows[0]!.n).toBe(11);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { waitUntil } from '../support/wait.js';
import { createPostgresLog, type Backbone, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer, type ConsumerOptions } from '../../src/consumer/index.js';
import { createProducer, registerAuthority, type Producer } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import type { Envelope } from '../../src/envelope/index.js';

const kinds = await databaseKinds();

interface Balance {
  readonly amount: number;
}

describe.each(kinds)('projection rebuild on $name', (kind) => {
  let t: TestDb;
  let backbone: PostgresLogBackbone;
  let relay: Relay;
  let producer: Producer;
  let consumer: Consumer;
  const s = () => `"${t.schema}"`;

  const consumerOptions = (overrides: Partial<ConsumerOptions> = {}): ConsumerOptions => ({
    name: 'ledger-view',
    db: t.db,
    backbone,
    schema: t.schema,
    projection: { tables: ['balances'] },
    handlers: {
      account: {
        kinds: ['state'],
        async apply(tx, e: Envelope<Balance>, context) {
          await tx.query(
            `INSERT INTO ${context.table('balances')} (id, amount, version) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET amount = $2, version = $3`,
            [e.entityid, e.data!.amount, e.entityversion],
          );
        },
      },
    },
    ...overrides,
  });

  async function write(id: string, amount: number): Promise<void> {
    await t.db.transaction(async (tx) => {
      const { version } = await producer.append(
        tx,
        { type: 'account', id },
        { kind: 'state', data: { amount } },
      );
      await tx.query(
        `INSERT INTO ${s()}.accounts (id, amount, version) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET amount = $2, version = $3`,
        [id, amount, version],
      );
    });
  }

  const rows = (table: string) =>
    t.db
      .query<{ id: string; amount: number; version: number }>(
        `SELECT id, amount, version FROM ${s()}.${table} ORDER BY id`,
      )
      .then((r) => r.rows);
  const converged = async () =>
    JSON.stringify(await rows('balances')) === JSON.stringify(await rows('accounts'));

  beforeEach(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'account', context: 'bank' }, t.schema);
    await t.db.query(
      `CREATE TABLE ${s()}.accounts (id text PRIMARY KEY, amount int NOT NULL, version int NOT NULL)`,
    );
    await t.db.query(
      `CREATE TABLE ${s()}.balances (id text PRIMARY KEY, amount int NOT NULL, version int NOT NULL)`,
    );
    await t.db.query(`CREATE INDEX balances_amount ON ${s()}.balances (amount)`);
    backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 4, timing: { pollMs: 20 } });
    relay = createRelay({ db: t.db, backbone, schema: t.schema, pollMs: 20 });
    producer = createProducer({ context: 'bank', schema: t.schema });
    consumer = createConsumer(consumerOptions());
    relay.start();
    await consumer.start();
  });
  afterEach(async () => {
    await consumer.stop();
    await relay.stop();
    await t.cleanup();
  });

  it('repairs a drifted projection by rebuilding it from history, keeping its indexes', async () => {
    for (let i = 0; i < 60; i++) await write(`a${i % 12}`, i);
    await waitUntil(converged, true, 20_000, 'the projection to catch up');
    await t.db.query(`DELETE FROM ${s()}.balances WHERE id = 'a3'`);
    await t.db.query(`UPDATE ${s()}.balances SET amount = -1 WHERE id = 'a4'`);
    expect(await converged()).toBe(false);

    const result = await consumer.rebuild();
    expect(result).toMatchObject({ replayed: 60, tables: ['balances'] });
    expect(await converged()).toBe(true);
    const leftovers = await t.db.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'balances%'`,
      [t.schema],
    );
    expect(leftovers.rows).toEqual([{ table_name: 'balances' }]);
    const indexes = await t.db.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'balances'`,
      [t.schema],
    );
    expect(indexes.rows.some((r) => r.indexdef.includes('(amount)'))).toBe(true);
    // The consumer goes on applying new events to the rebuilt table.
    await write('a3', 999);
    await waitUntil(converged, true, 20_000, 'the rebuilt projection to take new events');
    expect(await consumer.appliedVersion('account', 'a3')).toBe(6);
  });

  it.runIf(kind.concurrent)(
    'ends equal to the authority when writes continue during the rebuild',
    async () => {
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) await write(`b${written++ % 25}`, written);
      })();
      await waitUntil(async () => written > 150, true, 20_000, 'some writes');
      let servedDuringRebuild = 0;
      const reader = setInterval(() => {
        void rows('balances').then((r) => (servedDuringRebuild += r.length > 0 ? 1 : 0));
      }, 20);
      const result = await consumer.rebuild();
      clearInterval(reader);
      await waitUntil(async () => written > result.replayed + 100, true, 20_000, 'writes after the rebuild');
      writing = false;
      await writer;
      await waitUntil(converged, true, 30_000, 'the projection to equal the authority');
      expect(result.replayed).toBeGreaterThan(150);
      expect(servedDuringRebuild).toBeGreaterThan(0);
      const versions = await t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${s()}.balances b JOIN ${s()}.accounts a USING (id) WHERE a.version = b.version`,
      );
      expect(versions.rows[0]!.n).toBe(25);
    },
  );

  it('refuses a consumer without declared projection tables, and a backbone without history', async () => {
    const undeclared = createConsumer(consumerOptions({ name: 'other', projection: undefined }));
    await expect(undeclared.rebuild()).rejects.toThrow(/declares no projection.tables/);
    const { history: _history, ...withoutHistory } = backbone;
    const blind = createConsumer(consumerOptions({ name: 'blind', backbone: withoutHistory as Backbone }));
    await expect(blind.rebuild()).rejects.toThrow(/keeps no history/);
  });
});

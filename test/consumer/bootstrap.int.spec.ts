import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { waitUntil } from '../support/wait.js';
import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import {
  bootstrapConsumer,
  createConsumer,
  type ConsumerOptions,
  type EntityHandler,
} from '../../src/consumer/index.js';
import { createProducer, registerAuthority, type Producer } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import type { Envelope } from '../../src/envelope/index.js';
import { sleep } from '../../src/util/wakeup.js';

const kinds = await databaseKinds();

describe.each(kinds)('bootstrapping a new consumer from a snapshot on $name', (kind) => {
  let t: TestDb;
  let backbone: PostgresLogBackbone;
  let relay: Relay;
  let producer: Producer;
  const s = () => `"${t.schema}"`;

  const handler: EntityHandler<{ amount: number }> = {
    kinds: ['state'],
    async apply(tx, e: Envelope<{ amount: number }>, context) {
      await tx.query(
        `INSERT INTO ${context.table('copies')} (id, amount, version) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET amount = $2, version = $3`,
        [e.entityid, e.data!.amount, e.entityversion],
      );
      await tx.query(`INSERT INTO ${s()}.effects (id, version, source) VALUES ($1, $2, $3)`, [
        e.entityid,
        e.entityversion,
        e.type.endsWith('.snapshot') ? 'snapshot' : 'event',
      ]);
    },
  };
  const options = (): ConsumerOptions => ({
    name: 'late-joiner',
    db: t.db,
    backbone,
    schema: t.schema,
    projection: { tables: ['copies'] },
    handlers: { account: handler },
  });

  async function write(id: string, amount: number): Promise<void> {
    await t.db.transaction(async (tx) => {
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
  }
  const table = (name: string) =>
    t.db
      .query(`SELECT id, amount, version FROM ${s()}.${name} ORDER BY id`)
      .then((r) => JSON.stringify(r.rows));

  beforeEach(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'account', context: 'bank' }, t.schema);
    await t.db.query(
      `CREATE TABLE ${s()}.accounts (id text PRIMARY KEY, amount int NOT NULL, version int NOT NULL)`,
    );
    await t.db.query(
      `CREATE TABLE ${s()}.copies (id text PRIMARY KEY, amount int NOT NULL, version int NOT NULL)`,
    );
    await t.db.query(
      `CREATE TABLE ${s()}.effects (id text NOT NULL, version int NOT NULL, source text NOT NULL)`,
    );
    backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 4, timing: { pollMs: 20 } });
    relay = createRelay({ db: t.db, backbone, schema: t.schema, pollMs: 20 });
    producer = createProducer({ context: 'bank', schema: t.schema });
    relay.start();
  });
  afterEach(async () => {
    await relay.stop();
    await t.cleanup();
  });

  it('joins with no gap and no double application at the seam, while writes go on', async () => {
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        await write(`acc-${n % 40}`, n);
        n++;
        if (!kind.concurrent) await sleep(1);
      }
    })();
    await waitUntil(async () => n >= 300, true, 30_000, 'history to build up');

    const consumer = createConsumer(options());
    const result = await bootstrapConsumer({
      consumer,
      handlers: { account: handler as EntityHandler<unknown> },
      backbone,
      entityType: 'account',
      authority: 'bank',
      authorityDb: t.db,
      snapshot: async (tx) => {
        const rows = await tx.query<{ id: string; amount: number; version: number }>(
          `SELECT id, amount, version FROM ${s()}.accounts`,
        );
        await sleep(300); // writes keep committing while the snapshot is being taken
        return rows.rows.map((r) => ({ id: r.id, version: Number(r.version), state: { amount: r.amount } }));
      },
    });
    expect(result.entities).toBe(40);
    expect(result.outcomes.applied).toBe(40);
    await consumer.start();
    const atStart = n;
    await waitUntil(async () => n >= atStart + 200, true, 30_000, 'writes after the bootstrap');
    writing = false;
    await writer;
    await waitUntil(
      async () => (await table('copies')) === (await table('accounts')),
      true,
      30_000,
      'the copy to converge',
    );
    await consumer.stop();

    const twice = await t.db.query(
      `SELECT id, version FROM ${s()}.effects GROUP BY id, version HAVING count(*) > 1`,
    );
    expect(twice.rows).toEqual([]);
    const bySource = await t.db.query<{ source: string; n: number }>(
      `SELECT source, count(*)::int AS n FROM ${s()}.effects GROUP BY source ORDER BY source`,
    );
    const counts = Object.fromEntries(bySource.rows.map((r) => [r.source, r.n]));
    expect(counts.snapshot).toBe(40);
    expect(counts.event).toBeGreaterThan(0);
    // It did not read the history before the snapshot's position.
    expect(counts.event).toBeLessThan(n - result.position + 1);
  });

  it('refuses a handler that does not take state events, naming the fix', async () => {
    const domainOnly: EntityHandler<unknown> = { kinds: ['domain'], async apply() {} };
    const consumer = createConsumer({ ...options(), handlers: { account: domainOnly } });
    await expect(
      bootstrapConsumer({
        consumer,
        handlers: { account: domainOnly },
        backbone,
        entityType: 'account',
        authority: 'bank',
        authorityDb: t.db,
        snapshot: async () => [],
      }),
    ).rejects.toThrow(/takes only domain events for 'account'; .*add 'state' to the handler's kinds/);
  });
});

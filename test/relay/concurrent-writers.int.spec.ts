import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { rawConnection } from '../support/raw-client.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer } from '../../src/consumer/index.js';
import { sleep } from '../../src/util/wakeup.js';

const available = await postgresAvailable();
const WRITERS = 8;
const EVENTS_PER_WRITER = 2_000;
const ENTITIES = 100;

describe.runIf(available)('8 concurrent writers with random commit delays (server PostgreSQL)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await serverDb({ max: 12 });
    await registerAuthority(t.db, { entityType: 'account', context: 'ledger' }, t.schema);
    await t.db.query(`CREATE TABLE "${t.schema}".effects (
      seq bigserial PRIMARY KEY, entity_id text NOT NULL, version int NOT NULL, event_id uuid NOT NULL)`);
  });
  afterAll(() => t.cleanup());

  it('delivers every event, applies none twice, and keeps per-entity version order', async () => {
    const s = `"${t.schema}"`;
    const producer = createProducer({ context: 'ledger', schema: t.schema });
    const backbone = await createPostgresLog({
      db: t.db,
      schema: t.schema,
      partitions: 8,
      timing: { heartbeatMs: 500, pollMs: 100 },
    });
    // Small batches put many batch boundaries between out-of-order commits.
    const relay = createRelay({ db: t.db, backbone, schema: t.schema, batchSize: 64, pollMs: 20 });
    const consumer = createConsumer({
      name: 'audit',
      db: t.db,
      backbone,
      schema: t.schema,
      handlers: {
        account: {
          async apply(tx, event) {
            await tx.query(`INSERT INTO ${s}.effects (entity_id, version, event_id) VALUES ($1, $2, $3)`, [
              event.entityid,
              event.entityversion,
              event.id,
            ]);
          },
        },
      },
    });
    relay.start();
    await consumer.start();

    const commitOrder: number[] = [];
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const writer = async () => {
      const conn = await rawConnection();
      try {
        for (let i = 0; i < EVENTS_PER_WRITER; i++) {
          await conn.sql.query('BEGIN');
          const entity = `acc-${Math.floor(random() * ENTITIES)}`;
          const { position } = await producer.append(
            conn.sql,
            { type: 'account', id: entity },
            { kind: 'domain', type: 'Touched', data: { i } },
          );
          const pause = random();
          if (pause < 0.3) await sleep(Math.floor(pause * 10));
          await conn.sql.query('COMMIT');
          commitOrder.push(position);
        }
      } finally {
        await conn.close();
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, writer));
    const total = WRITERS * EVENTS_PER_WRITER;

    // Proof the scenario happened: rows committed after a row with a higher position.
    let highest = 0;
    let lateCommits = 0;
    for (const position of commitOrder) {
      if (position < highest) lateCommits++;
      highest = Math.max(highest, position);
    }
    expect(lateCommits).toBeGreaterThan(0);

    await expect
      .poll(
        async () =>
          Number((await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM ${s}.effects`)).rows[0]!.n),
        {
          timeout: 60_000,
          interval: 250,
        },
      )
      .toBe(total);
    await consumer.stop();
    await relay.stop();

    const logged = await t.db.query<{ n: number; distinct_ids: number }>(
      `SELECT count(*) AS n, count(DISTINCT event_id) AS distinct_ids FROM ${s}.log`,
    );
    expect(logged.rows[0]).toEqual({ n: total, distinct_ids: total });
    const missing = await t.db.query(
      `SELECT o.event_id FROM ${s}.outbox o LEFT JOIN ${s}.effects e ON e.event_id = o.event_id WHERE e.seq IS NULL`,
    );
    expect(missing.rows).toEqual([]);
    const duplicates = await t.db.query(
      `SELECT event_id FROM ${s}.effects GROUP BY event_id HAVING count(*) > 1`,
    );
    expect(duplicates.rows).toEqual([]);
    const outOfOrder = await t.db.query(`
      SELECT entity_id, version, expected FROM (
        SELECT entity_id, version, row_number() OVER (PARTITION BY entity_id ORDER BY seq) AS expected
        FROM ${s}.effects) x
      WHERE version <> expected LIMIT 5`);
    expect(outOfOrder.rows).toEqual([]);
    console.info(`concurrent writers: ${total} events, ${lateCommits} committed behind a higher position`);
    // 16,000 events through a real relay and consumer: a loaded CI machine needs more than the default.
  }, 180_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDb } from '../support/services.js';
import { databaseKinds } from '../support/both-databases.js';
import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { replay } from '../../src/replay/index.js';
import { waitUntil } from '../support/wait.js';

const KEYS = 200;
const VERSIONS = 50;

function history(): Envelope[] {
  const events: Envelope[] = [];
  for (let v = 1; v <= VERSIONS; v++) {
    for (let k = 0; k < KEYS; k++) {
      events.push(
        createEnvelope({
          kind: 'domain',
          type: 'Counted',
          authority: 'profile',
          entityType: 'counter',
          entityId: `k${k}`,
          entityVersion: v,
          data: { value: v * 10 + (k % 7) },
        }),
      );
    }
  }
  return events;
}

// 10,000 events: on server PostgreSQL when it is there (faster with concurrent partitions), else PGlite.
const database = (await databaseKinds()).at(-1)!;

describe(`replay (${database.name}, postgres-log)`, () => {
  let t: TestDb;
  let backbone: PostgresLogBackbone;
  let consumer: Consumer;
  const s = () => `"${t.schema}"`;
  const state = async () =>
    (
      await t.db.query<{ id: string; value: number; version: number; applications: number }>(
        `SELECT id, value, version, applications FROM ${s()}.counters ORDER BY id`,
      )
    ).rows;

  beforeAll(async () => {
    t = await database.open();
    await t.db.query(`CREATE TABLE ${s()}.counters (
      id text PRIMARY KEY, value int NOT NULL, version int NOT NULL, applications int NOT NULL)`);
    backbone = await createPostgresLog({
      db: t.db,
      schema: t.schema,
      partitions: 4,
      timing: { heartbeatMs: 200, pollMs: 20 },
    });
    consumer = createConsumer({
      name: 'counting',
      db: t.db,
      backbone,
      schema: t.schema,
      batchSize: 500,
      handlers: {
        counter: {
          async apply(tx, e: Envelope<{ value: number }>) {
            await tx.query(
              `INSERT INTO ${s()}.counters VALUES ($1, $2, $3, 1)
               ON CONFLICT (id) DO UPDATE SET value = $2, version = $3, applications = counters.applications + 1`,
              [e.entityid, e.data!.value, e.entityversion],
            );
          },
        },
      },
    });
    const events = history();
    for (let i = 0; i < events.length; i += 1_000) await backbone.publish(events.slice(i, i + 1_000));
    await consumer.start();
    await waitUntil(
      async () => (await state()).reduce((sum, r) => sum + r.applications, 0),
      KEYS * VERSIONS,
      120_000,
      'the consumer to apply every event',
    );
    await consumer.stop();
  }, 180_000);
  afterAll(() => t.cleanup());

  it('replaying 10,000 events into a consumer that already has them changes nothing', async () => {
    const before = await state();
    const progress: number[] = [];
    const result = await replay({ consumer, backbone, query: {}, onProgress: (p) => progress.push(p.done) });
    expect(result).toMatchObject({
      delivered: KEYS * VERSIONS,
      total: KEYS * VERSIONS,
      duplicate: KEYS * VERSIONS,
      applied: 0,
    });
    expect(progress.at(-1)).toBe(KEYS * VERSIONS);
    expect(await state()).toEqual(before);
  }, 120_000);

  it('re-applies, in order, what a projection restored from an older backup lacks', async () => {
    const expected = await state();
    const cut = KEYS * 30; // the backup was taken after 30 versions of every key
    // Restore the consumer's store to its state at the cut: keep rows of events at or before it.
    await t.db.query(`DELETE FROM ${s()}.inbox WHERE consumer = 'counting' AND entity_version > 30`);
    await t.db.query(`UPDATE ${s()}.consumer_entities SET version = 30 WHERE consumer = 'counting'`);
    await t.db.query(
      `UPDATE ${s()}.counters SET version = 30, value = 300 + (substr(id, 2)::int % 7), applications = 30`,
    );
    const result = await replay({ consumer, backbone, query: { fromPosition: cut + 1 } });
    expect(result).toMatchObject({ delivered: KEYS * 20, applied: KEYS * 20, duplicate: 0 });
    expect(await state()).toEqual(expected);
  }, 120_000);

  it('replays only the given keys', async () => {
    const result = await replay({ consumer, backbone, query: { keys: ['counter/k1', 'counter/k2'] } });
    expect(result).toMatchObject({ delivered: 2 * VERSIONS, duplicate: 2 * VERSIONS });
  });

  it('refuses a range beyond the log, an empty range and a time after the last event', async () => {
    const head = KEYS * VERSIONS;
    await expect(replay({ consumer, backbone, query: { fromPosition: head + 5 } })).rejects.toThrow(
      `the range starts at position ${head + 5}, beyond the end of the log (position ${head})`,
    );
    await expect(replay({ consumer, backbone, query: { fromPosition: 10, toPosition: 5 } })).rejects.toThrow(
      /the range is empty: it starts at position 10 and ends at 5/,
    );
    await expect(
      replay({ consumer, backbone, query: { fromTime: new Date(Date.now() + 60_000) } }),
    ).rejects.toMatchObject({ code: 'TM_INVALID_ARGUMENT' });
  });
});

import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/store/db.js';
import { sleep } from '../../src/util/wakeup.js';
import { businessUpdate, type Contender } from './contender.js';

const BATCH = 1_000;

/**
 * The outbox most teams write first: a bigserial id, and a poller that remembers the highest
 * id it has seen. Ids are handed out at INSERT but become visible at COMMIT, so when a
 * transaction with a lower id commits after one with a higher id has been read, the poller has
 * already moved past it and that event is never delivered. Its consumer is otherwise as good
 * as it gets: one set-based transaction per batch, effects and cursor committed together.
 */
export const naiveOutbox: Contender = {
  key: 'naive-outbox',
  label: 'naive polling outbox (id > last)',
  async start(env) {
    const s = `"${env.schema}"`;
    await env.admin.query(`
      CREATE TABLE ${s}.naive_outbox (id bigserial PRIMARY KEY, event_id text NOT NULL, key text NOT NULL, payload text NOT NULL);
      CREATE TABLE ${s}.naive_cursor (last_id bigint NOT NULL);
      INSERT INTO ${s}.naive_cursor VALUES (0);`);
    const producerDb = await env.connect(env.clients, 'naive-producer');
    const pollerDb = await env.connect(1, 'naive-poller');
    const update = businessUpdate(env.schema);
    const insert = `INSERT INTO ${s}.naive_outbox (event_id, key, payload) VALUES ($1, $2, $3)`;
    const read = `SELECT id, event_id, key, payload FROM ${s}.naive_outbox WHERE id > $1 ORDER BY id LIMIT ${BATCH}`;
    const apply = `
      WITH batch AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS b(event_id, key, payload, ord)),
      effects AS (INSERT INTO ${s}.bench_effects (event_id, key) SELECT event_id, key FROM batch),
      latest AS (SELECT DISTINCT ON (key) key, event_id, payload FROM batch ORDER BY key, ord DESC)
      INSERT INTO ${s}.bench_projection (key, last_event, payload) SELECT key, event_id, payload FROM latest
      ON CONFLICT (key) DO UPDATE SET last_event = EXCLUDED.last_event, payload = EXCLUDED.payload`;

    let running = true;
    const poll = async () => {
      let last = 0;
      while (running) {
        const { rows } = await pollerDb.query<{ id: number; event_id: string; key: string; payload: string }>(
          read,
          [last],
        );
        if (rows.length === 0) {
          await sleep(10);
          continue;
        }
        const next = rows[rows.length - 1]!.id;
        await pollerDb.transaction(async (tx) => {
          await tx.query(apply, [
            rows.map((r) => r.event_id),
            rows.map((r) => r.key),
            rows.map((r) => r.payload),
          ]);
          await tx.query(`UPDATE ${s}.naive_cursor SET last_id = $1`, [next]);
        });
        last = next;
      }
    };
    let failure: unknown;
    const poller = poll().catch((error: unknown) => {
      failure = error;
    });
    return {
      async transact(key, payload) {
        if (failure) throw failure;
        const eventId = randomUUID();
        await producerDb.transaction(async (tx) => {
          await tx.query(update, [key, payload]);
          await tx.query(insert, [eventId, key, payload]);
        });
        return eventId;
      },
      async stop() {
        running = false;
        await poller;
        for (const db of [producerDb, pollerDb] as Db[]) await db.close();
        if (failure) throw failure;
      },
    };
  },
};

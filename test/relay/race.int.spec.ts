import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { rawConnection } from '../support/raw-client.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';

const available = await postgresAvailable();

/**
 * Out-of-order commits only happen with concurrent transactions, which PGlite cannot have,
 * so these run on server PostgreSQL.
 */
describe.runIf(available)('gap-safe relay under out-of-order commits (server PostgreSQL)', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterEach(() => t.cleanup());

  const logIds = async () =>
    (
      await t.db.query<{ id: string }>(
        `SELECT envelope->>'entityid' AS id FROM "${t.schema}".log ORDER BY log_offset`,
      )
    ).rows.map((r) => r.id);

  it('delivers a transaction that took a lower position but committed after the relay moved past a later one', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 4 });
    const relay = createRelay({ db: t.db, backbone, schema: t.schema });
    const a = await rawConnection();
    const b = await rawConnection();
    try {
      // B obtains its transaction id first, A appends first (lower position), B appends after.
      await b.sql.query('BEGIN');
      await b.sql.query('SELECT pg_current_xact_id()');
      await a.sql.query('BEGIN');
      const fromA = await producer.append(a.sql, { type: 'customer', id: 'A' }, { kind: 'state', data: {} });
      const fromB = await producer.append(b.sql, { type: 'customer', id: 'B' }, { kind: 'state', data: {} });
      expect(fromA.position).toBeLessThan(fromB.position);
      await b.sql.query('COMMIT');

      // The relay runs while A is still open: B is safe to relay (its txid is below A's).
      // (Polled: another suite on the same server may briefly hold an even older transaction.)
      const drained = async () => {
        await relay.drain();
        return logIds();
      };
      await expect.poll(drained).toEqual(['B']);
      // A cursor on position alone would now sit past A's row and never return to it.
      const naive = await t.db.query(`SELECT 1 FROM "${t.schema}".outbox WHERE position > $1`, [
        fromB.position,
      ]);

      await a.sql.query('COMMIT');
      expect(naive.rows).toHaveLength(0);
      await expect.poll(drained).toEqual(['B', 'A']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('holds back rows of later transactions while an earlier one is open, then relays all in order', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 4 });
    const relay = createRelay({ db: t.db, backbone, schema: t.schema });
    const slow = await rawConnection();
    try {
      await slow.sql.query('BEGIN');
      await producer.append(slow.sql, { type: 'customer', id: 'slow' }, { kind: 'state', data: {} });
      const slowXid = BigInt(
        (await slow.sql.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid')).rows[0]!.xid,
      );
      await t.db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id: 'fast' }, { kind: 'state', data: {} }),
      );
      expect(await relay.drain()).toBe(0);
      const status = await relay.status();
      // Only the committed row is visible; it waits behind the open transaction, which status names
      // (or an even older one, if another suite on this server holds one open right now).
      expect(status.backlog).toBe(1);
      expect(BigInt(status.oldestOpenTransaction!.xid) <= slowXid).toBe(true);
      await slow.sql.query('COMMIT');
      // Other suites on the same server may hold an older transaction open for a while.
      await expect
        .poll(
          async () => {
            await relay.drain();
            return logIds();
          },
          { timeout: 30_000 },
        )
        .toEqual(['slow', 'fast']);
    } finally {
      await slow.close();
    }
  });
});

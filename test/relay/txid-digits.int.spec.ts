import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownEmbeddedDb, type TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';

/**
 * Regression: the relay once sorted by the text of the transaction id, so '1000' came before
 * '999' and a batch spanning a power of ten skipped committed rows. A fresh PGlite crosses
 * txid 1,000 early, so the test burns ids up to just below it.
 */
describe('relay across a transaction id with one more digit (PGlite)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await ownEmbeddedDb();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterAll(() => t.cleanup());

  it('relays every row when the batches cross txid 1,000', async () => {
    const current = async () =>
      Number((await t.db.query<{ x: string }>(`SELECT pg_current_xact_id()::text AS x`)).rows[0]!.x);
    while ((await current()) < 980) {
      /* each autocommit statement above used one transaction id */
    }
    const producer = createProducer({ context: 'profile', schema: t.schema });
    for (let i = 0; i < 50; i++) {
      await t.db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id: `c${i}` }, { kind: 'state', data: { i } }),
      );
    }
    const txids = await t.db.query<{ lo: string; hi: string }>(
      `SELECT min(txid)::text AS lo, max(txid)::text AS hi FROM "${t.schema}".outbox`,
    );
    expect(Number(txids.rows[0]!.lo)).toBeLessThan(1000);
    expect(Number(txids.rows[0]!.hi)).toBeGreaterThanOrEqual(1000);

    const backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    const relay = createRelay({ db: t.db, backbone, schema: t.schema, batchSize: 10 });
    expect(await relay.drain()).toBe(50);
    const logged = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.schema}".log`);
    expect(logged.rows[0]!.n).toBe(50);
    expect((await relay.status()).backlog).toBe(0);
  });
});

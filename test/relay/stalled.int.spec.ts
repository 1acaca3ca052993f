import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresAvailable, postgresUrl, serverDb, uniqueSchema, type TestDb } from '../support/services.js';
import { tidemark } from '../support/cli.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createMetrics, registerRelayCollector } from '../../src/obs/index.js';

const serverUp = await postgresAvailable();
const authority = 'customer-profile';

/** Reads a gauge's value for one relay from the registry, as a scrape would. */
async function gauge(metrics: ReturnType<typeof createMetrics>, name: string, relay: string) {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => v.labels.relay === relay)?.value;
}

describe.skipIf(!serverUp)('relay horizon held back by an open transaction (server PostgreSQL)', () => {
  let t: TestDb;
  let relay: Relay;
  let holder: pg.Client;
  const applicationName = uniqueSchema('forgotten_begin');

  beforeEach(async () => {
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    const log = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    relay = createRelay({ db: t.db, backbone: log, schema: t.schema });
    holder = new pg.Client({ connectionString: postgresUrl, application_name: applicationName });
    await holder.connect();
  });
  afterEach(async () => {
    await holder.end().catch(() => {});
    await relay.stop();
    await t.cleanup();
  });

  const append = (id: string) =>
    t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id },
        { kind: 'domain', type: 'CustomerAddressChanged', data: { street: 'Quay 1' } },
      ),
    );

  it('names the transaction, its start and its application while committed events wait behind it', async () => {
    // Given a session that began a transaction, took an id, and went idle without committing
    await holder.query('BEGIN');
    const mine = await holder.query<{ xid: string; since: Date }>(
      'SELECT pg_current_xact_id()::xid::text AS xid, now() AS since',
    );
    // When an event commits after it
    await append('c-1');
    expect(await relay.drain()).toBe(0);

    // Then the diagnosis names that transaction (an older one of a parallel suite may come first)
    const metrics = createMetrics();
    registerRelayCollector(metrics, relay);
    await expect
      .poll(async () => (await relay.status()).horizon?.holder?.applicationName, { timeout: 45_000 })
      .toBe(applicationName);
    const { horizon } = await relay.status();
    expect(horizon).toMatchObject({
      held: true,
      waitingRows: 1,
      holder: {
        xid: mine.rows[0]!.xid,
        since: new Date(mine.rows[0]!.since).toISOString(),
        applicationName,
        state: 'idle in transaction',
      },
    });
    expect(horizon!.ageSeconds).toBeGreaterThan(0);
    expect(horizon!.explanation).toContain(`application "${applicationName}"`);
    expect(await gauge(metrics, 'tidemark_relay_horizon_age_seconds', relay.name)).toBeGreaterThan(0);

    // And tidemark status shows it to the operator
    const cli = await tidemark(['status', 'customer/c-1', '--db', postgresUrl, '--schema', t.schema]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(
      new RegExp(
        `Relay held back: 1 committed event wait.* transaction ${mine.rows[0]!.xid} .*"${applicationName}"`,
      ),
    );

    // When the transaction ends, the event flows and the horizon is free
    await holder.query('ROLLBACK');
    await expect.poll(() => relay.drain(), { timeout: 45_000 }).toBe(1);
    const after = await relay.status();
    expect(after.horizon).toMatchObject({ held: false, waitingRows: 0, ageSeconds: 0 });
    expect(await gauge(metrics, 'tidemark_relay_horizon_age_seconds', relay.name)).toBe(0);
  }, 150_000);

  it('does not call an open transaction a holder when nothing waits behind it', async () => {
    await append('c-2');
    // Another suite on the shared server may hold a transaction older than the row: wait it out.
    await expect
      .poll(
        async () =>
          Number(
            (
              await t.db.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM "${t.schema}".outbox WHERE txid < pg_snapshot_xmin(pg_current_snapshot())`,
              )
            ).rows[0]!.n,
          ),
        { timeout: 60_000, interval: 100 },
      )
      .toBe(1);
    await holder.query('BEGIN');
    await holder.query('SELECT pg_current_xact_id()');
    expect(await relay.drain()).toBe(1);
    const { horizon } = await relay.status();
    expect(horizon).toMatchObject({ held: false, waitingRows: 0, ageSeconds: 0 });
    await holder.query('ROLLBACK');
  });
});

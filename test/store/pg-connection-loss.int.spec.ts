import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { postgresAvailable, postgresUrl } from '../support/services.js';
import { rawConnection } from '../support/raw-client.js';
import { openPostgres } from '../../src/store/pg/index.js';
import type { Db } from '../../src/store/db.js';

const available = await postgresAvailable();

/** Found by the chaos suite: a terminated connection used to crash the whole process (57P01). */
describe.runIf(available)('server PostgreSQL connections cut by the server', () => {
  const application = `tm-cut-${randomUUID().slice(0, 8)}`;
  let db: Db;
  let admin: Awaited<ReturnType<typeof rawConnection>>;
  beforeAll(async () => {
    db = await openPostgres({ connectionString: postgresUrl, applicationName: application, max: 4 });
    admin = await rawConnection();
  });
  afterAll(async () => {
    await db.close();
    await admin.close();
  });

  const terminate = (filter: string) =>
    admin.sql.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND ${filter}`,
      [application],
    );

  it('a listener whose connection is terminated listens again and is woken for what it missed', async () => {
    const channel = `tm_cut_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
    const payloads: string[] = [];
    const stop = await db.listen(channel, (payload) => payloads.push(payload));
    const killed = await terminate(`query ILIKE 'LISTEN%'`);
    expect(killed.rows).toHaveLength(1);
    // The wake-up after re-listening carries no payload: "look again, you may have missed some".
    await expect.poll(() => payloads.includes(''), { timeout: 10_000 }).toBe(true);
    await expect
      .poll(
        async () => {
          await db.query(`SELECT pg_notify($1, 'after')`, [channel]);
          return payloads.includes('after');
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    await stop();
  });

  it('a transaction whose connection is terminated fails with the error, and the Db goes on working', async () => {
    const inside = db.transaction(async (tx) => {
      await tx.query(`SELECT 1`);
      await terminate(`pid <> pg_backend_pid() AND state = 'idle in transaction'`);
      await tx.query(`SELECT 2`);
    });
    await expect(inside).rejects.toThrow();
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});

import type { TestDb } from './services.js';

/** How many copies of customer `id`'s events the postgres-log of `t`'s schema holds. */
export async function customerRowsInLog(t: TestDb, id: string): Promise<number> {
  const rows = await t.db.query<{ n: number }>(
    `SELECT count(*) AS n FROM "${t.schema}".log WHERE partition_key = $1`,
    [`customer/${id}`],
  );
  return Number(rows.rows[0]!.n);
}

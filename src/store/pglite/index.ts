import { PGlite } from '@electric-sql/pglite';
import type { Db, QueryResult, Sql, Unlisten } from '../db.js';

export interface PGliteDbOptions {
  /** Directory for durable data; omit for an in-memory database. */
  dataDir?: string;
}

type PGliteQueryable = Pick<PGlite, 'query'>;

function wrap(target: PGliteQueryable): Sql {
  return {
    async query<Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await target.query<Row>(text, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  };
}

/** Wraps an existing PGlite instance (the caller keeps ownership unless `ownsInstance`). */
export function pgliteDb(
  instance: PGlite,
  options: { ownsInstance?: boolean; description?: string } = {},
): Db {
  const sql = wrap(instance);
  return {
    description: options.description ?? `pglite:${instance.dataDir ?? 'memory'}`,
    capabilities: { concurrentTransactions: false, logicalReplication: false },
    query: sql.query,
    transaction: (work) => instance.transaction((tx) => work(wrap(tx))),
    async listen(channel: string, onNotify: (payload: string) => void): Promise<Unlisten> {
      return instance.listen(channel, onNotify);
    },
    async close() {
      if (options.ownsInstance ?? true) await instance.close();
    },
  };
}

/** Opens an embedded PostgreSQL (PGlite): no server needed; in memory unless `dataDir` is set. */
export async function openPGlite(options: PGliteDbOptions = {}): Promise<Db> {
  const instance = await PGlite.create(options.dataDir);
  return pgliteDb(instance, { ownsInstance: true, description: `pglite:${options.dataDir ?? 'memory'}` });
}

import pg from 'pg';
import type { Sql } from '../../src/store/db.js';
import { postgresUrl } from './services.js';

/** A single connection under the test's manual control (BEGIN/COMMIT interleaving). */
export async function rawConnection(): Promise<{ sql: Sql; client: pg.Client; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  const sql: Sql = {
    async query(text, params = []) {
      const result = await client.query(text, params as unknown[]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
  };
  return { sql, client, close: () => client.end() };
}

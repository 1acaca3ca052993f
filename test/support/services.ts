import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { openPostgres } from '../../src/store/pg/index.js';
import { openPGlite } from '../../src/store/pglite/index.js';
import { migrate } from '../../src/store/migrate.js';
import type { Db } from '../../src/store/db.js';

export const postgresUrl = process.env.TIDEMARK_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const requireServices = process.env.REQUIRE_SERVICES === '1';

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Whether suites needing server PostgreSQL run. Under REQUIRE_SERVICES=1 (CI) an unreachable
 * server is an error, so a missing service fails the run instead of skipping silently.
 */
export async function postgresAvailable(): Promise<boolean> {
  const ok = await reachable(postgresUrl);
  if (!ok && requireServices) {
    throw new Error(
      `REQUIRE_SERVICES=1 but PostgreSQL is unreachable at ${postgresUrl}; start it ` +
        '(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set TIDEMARK_TEST_PG',
    );
  }
  return ok;
}

/** A schema name no other test uses, so tests share one server without seeing each other. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

export interface TestDb {
  readonly db: Db;
  readonly schema: string;
  /** Drops the schema (server PostgreSQL) and closes the pool. */
  cleanup(): Promise<void>;
}

export async function serverDb(options: { max?: number } = {}): Promise<TestDb> {
  const schema = uniqueSchema();
  const db = await openPostgres({ connectionString: postgresUrl, max: options.max ?? 10 });
  await migrate(db, schema);
  return {
    db,
    schema,
    async cleanup() {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
      await db.close();
    },
  };
}

let shared: Promise<Db> | undefined;

/**
 * A fresh schema in one PGlite instance shared by the test file (a PGlite takes ~2 s to
 * start). `close()` of the returned Db is a no-op; the instance lives as long as the worker.
 */
export async function embeddedDb(): Promise<TestDb> {
  shared ??= openPGlite();
  const instance = await shared;
  const db: Db = { ...instance, close: async () => {} };
  const schema = uniqueSchema();
  await migrate(db, schema);
  return {
    db,
    schema,
    cleanup: async () => {
      await instance.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

/** A PGlite instance of its own, for tests that close or restart the database. */
export async function ownEmbeddedDb(dataDir?: string): Promise<TestDb> {
  const db = await openPGlite(dataDir === undefined ? {} : { dataDir });
  const schema = uniqueSchema();
  await migrate(db, schema);
  return { db, schema, cleanup: () => db.close() };
}

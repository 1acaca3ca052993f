import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { openPGlite } from '../../src/store/pglite/index.js';
import { openPostgres } from '../../src/store/pg/index.js';

export type TargetKey = 'pglite' | 'postgres';

/** A database a benchmark runs on, opened once per run and shared by its parts. */
export interface Target {
  readonly key: TargetKey;
  /** Column heading, with the engine version. */
  readonly label: string;
  /** PGlite has one connection: concurrent clients would only queue behind each other. */
  readonly concurrent: boolean;
  /** Server PostgreSQL only: for systems that open their own connections (the compare peers). */
  readonly connectionString?: string;
  /**
   * A Db of at most `max` connections. PGlite hands out its single instance every time,
   * so closing what this returns is a no-op there.
   */
  connect(max: number, role: string): Promise<Db>;
  /** A fresh, migrated schema; `drop` removes it with everything the benchmark created in it. */
  freshSchema(prefix: string): Promise<{ schema: string; drop(): Promise<void> }>;
  /**
   * Client sessions on the same server that this benchmark did not open. Others' load skews
   * the figures, so the report states it rather than pretending the machine was quiet.
   */
  foreignSessions(): Promise<number>;
  close(): Promise<void>;
}

async function serverVersion(db: Db): Promise<string> {
  const row = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0];
  return (row?.server_version ?? '?').split(' ')[0]!;
}

function schemaName(prefix: string): string {
  return `bench_${prefix}_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
}

function targetOver(base: Omit<Target, 'freshSchema' | 'label'>, admin: Db, label: string): Target {
  return {
    ...base,
    label,
    async freshSchema(prefix) {
      const schema = schemaName(prefix);
      await migrate(admin, schema);
      return { schema, drop: () => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).then(() => {}) };
    },
  };
}

export async function openPGliteTarget(pgliteVersion: string): Promise<Target> {
  const instance = await openPGlite();
  // Components "close" their Db when they stop; the shared instance must outlive them all.
  const shared: Db = { ...instance, close: async () => {} };
  const label = `PGlite ${pgliteVersion} (PG ${await serverVersion(instance)})`;
  return targetOver(
    {
      key: 'pglite',
      concurrent: false,
      connect: async () => shared,
      foreignSessions: async () => 0,
      close: () => instance.close(),
    },
    instance,
    label,
  );
}

export async function openPostgresTarget(connectionString: string): Promise<Target> {
  const admin = await openPostgres({ connectionString, max: 1, applicationName: 'tidemark-bench-admin' });
  const label = `PostgreSQL ${await serverVersion(admin)}`;
  return targetOver(
    {
      key: 'postgres',
      concurrent: true,
      connectionString,
      connect: (max, role) =>
        openPostgres({ connectionString, max, applicationName: `tidemark-bench-${role}` }),
      async foreignSessions() {
        const r = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
             AND application_name NOT LIKE 'tidemark-bench-%'`,
        );
        return Number(r.rows[0]?.n ?? 0);
      },
      close: () => admin.close(),
    },
    admin,
    label,
  );
}

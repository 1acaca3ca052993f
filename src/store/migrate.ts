import type { Db } from './db.js';
import { quoteIdentifier } from './identifier.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import { TidemarkError } from '../errors.js';

export interface MigrateResult {
  readonly applied: readonly number[];
  readonly current: number;
}

/**
 * Brings `schema` up to the newest migration. Safe to call from several processes
 * at once: an advisory lock held for the transaction serialises them.
 */
export async function migrate(
  db: Db,
  schema = 'tidemark',
  migrations: readonly Migration[] = allMigrations,
): Promise<MigrateResult> {
  const s = quoteIdentifier(schema, 'schema name');
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`tidemark.migrate.${schema}`]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = await tx.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
    const present = new Set(done.rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (present.has(migration.version)) continue;
      for (const statement of migration.statements(s)) {
        try {
          await tx.query(statement);
        } catch (cause) {
          throw new TidemarkError(
            'TM_MIGRATION_FAILED',
            `migration ${migration.version} (${migration.name}) failed in schema ${schema}: ${(cause as Error).message}`,
            { cause, context: { schema, version: migration.version } },
          );
        }
      }
      await tx.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    const current = Math.max(0, ...present, ...applied);
    return { applied, current };
  });
}

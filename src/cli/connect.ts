import type { Db } from '../store/db.js';
import { TidemarkError } from '../errors.js';
import { quoteIdentifier } from '../store/identifier.js';

export interface ConnectionOptions {
  readonly db?: string;
  readonly schema?: string;
}

/**
 * Opens the database named by `--db` (or TIDEMARK_DB): `postgres://…` for server PostgreSQL,
 * `pglite:<directory>` for an embedded database kept in that directory.
 */
export async function connect(options: ConnectionOptions): Promise<{ db: Db; schema: string }> {
  const target = options.db ?? process.env.TIDEMARK_DB;
  const schema = options.schema ?? process.env.TIDEMARK_SCHEMA ?? 'tidemark';
  quoteIdentifier(schema, '--schema');
  if (!target) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'no database given: pass --db postgres://user@host:5432/db (or --db pglite:./data), or set TIDEMARK_DB',
    );
  }
  if (/^postgres(ql)?:\/\//.test(target)) {
    const { openPostgres } = await import('../store/pg/index.js');
    return {
      db: await openPostgres({ connectionString: target, max: 2, applicationName: 'tidemark-cli' }),
      schema,
    };
  }
  if (target.startsWith('pglite:') && target.length > 'pglite:'.length) {
    const { openPGlite } = await import('../store/pglite/index.js');
    return { db: await openPGlite({ dataDir: target.slice('pglite:'.length) }), schema };
  }
  throw new TidemarkError(
    'TM_INVALID_ARGUMENT',
    `--db ${JSON.stringify(target)} is not a database address: use postgres://user@host:5432/db for server ` +
      'PostgreSQL or pglite:<directory> for an embedded database',
  );
}

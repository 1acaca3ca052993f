import pg from 'pg';
import type { Db, QueryResult, Sql, Unlisten } from '../db.js';
import { TidemarkError } from '../../errors.js';
import { statementNamer } from './statement-names.js';

export interface PgDbOptions {
  /** libpq connection string, e.g. `postgres://postgres@127.0.0.1:5432/test`. */
  connectionString: string;
  /** Pool size (default 10). */
  max?: number;
  /** Sent as application_name so DBAs can see which component holds a connection. */
  applicationName?: string;
  /**
   * Run parameterised statements as named prepared statements (default true): each connection
   * parses and plans a statement once instead of on every call, which roughly doubles the rate of
   * small statements such as the outbox append. Turn it off behind a pooler that moves a session
   * between server connections (PgBouncer in transaction mode before 1.21), where a statement
   * prepared on one connection is missing on the next.
   */
  preparedStatements?: boolean;
}

// int8 as a JS number: offsets and versions stay far below 2^53, and PGlite does the same.
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres (unparseable connection string)';
  }
}

type Namer = ((text: string) => string) | undefined;

function wrap(client: pg.Pool | pg.PoolClient, nameOf: Namer): Sql {
  return {
    async query<Row>(text: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      // Only statements with parameters are named: without, pg uses the simple protocol,
      // which is what lets migrations send several statements in one text.
      const result =
        nameOf && params.length > 0
          ? await client.query({ name: nameOf(text), text, values: params as unknown[] })
          : await client.query(text, params as unknown[]);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    },
  };
}

/** Server PostgreSQL through a `pg` pool. */
export async function openPostgres(options: PgDbOptions): Promise<Db> {
  const description = redact(options.connectionString);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'tidemark',
    types,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (cause) {
    await pool.end().catch(() => {});
    throw new TidemarkError(
      'TM_SERVICE_UNREACHABLE',
      `cannot connect to PostgreSQL at ${description}: ${(cause as Error).message}; ` +
        'check that the server is running and the connection string (host, port, database, user) is right',
      { cause, context: { database: description } },
    );
  }
  const nameOf: Namer = options.preparedStatements === false ? undefined : statementNamer();
  const sql = wrap(pool, nameOf);
  const listeners = new Set<pg.PoolClient>();
  return {
    description,
    capabilities: { concurrentTransactions: true, logicalReplication: true },
    query: sql.query,
    async transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A connection cut mid-transaction surfaces as the failing query; the client's own 'error'
      // event must not crash the process meanwhile.
      const lost = (err: Error) => {
        broken = err;
      };
      client.on('error', lost);
      try {
        await client.query('BEGIN');
        const result = await work(wrap(client, nameOf));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
        throw err;
      } finally {
        client.off('error', lost);
        client.release(broken);
      }
    },
    async listen(channel: string, onNotify: (payload: string) => void): Promise<Unlisten> {
      const quoted = `"${channel.replaceAll('"', '""')}"`;
      let current: pg.PoolClient | undefined;
      let closed = false;
      // A listening connection can be cut (server restart, pg_terminate_backend): it is replaced
      // and listens again, and the listener is woken once because notifications were missed.
      const attach = async (): Promise<void> => {
        const client = await pool.connect();
        client.on('notification', (msg) => {
          if (msg.channel === channel) onNotify(msg.payload ?? '');
        });
        client.on('error', (err) => {
          if (current !== client) return;
          current = undefined;
          listeners.delete(client);
          client.release(err);
          if (!closed) void reattach();
        });
        try {
          await client.query(`LISTEN ${quoted}`);
        } catch (err) {
          client.release(err as Error);
          throw err;
        }
        if (closed) {
          client.release(true as unknown as Error);
          return;
        }
        current = client;
        listeners.add(client);
      };
      const reattach = async (): Promise<void> => {
        for (let attempt = 1; !closed; attempt++) {
          try {
            await attach();
            onNotify('');
            return;
          } catch {
            await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 5_000)));
          }
        }
      };
      await attach();
      return async () => {
        closed = true;
        const client = current;
        current = undefined;
        if (!client || !listeners.delete(client)) return;
        try {
          await client.query(`UNLISTEN ${quoted}`);
          client.release();
        } catch (err) {
          client.release(err as Error);
        }
      };
    },
    async close() {
      for (const client of listeners) client.release(true as unknown as Error);
      listeners.clear();
      await pool.end();
    },
  };
}

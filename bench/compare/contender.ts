import type { Db } from '../../src/store/db.js';

/**
 * One system under comparison. Every contender runs the same workload on the same server:
 * a business transaction that updates one account row and records one event, and a consumer
 * that applies each event to a projection. What differs is only how the event travels.
 */
export interface Contender {
  readonly key: string;
  readonly label: string;
  /** Sets up the contender's tables in `env.schema` and starts its pipeline (relay, consumer…). */
  start(env: ContenderEnv): Promise<RunningContender>;
}

export interface ContenderEnv {
  /** Server PostgreSQL; the contender opens its own connections with it. */
  readonly connectionString: string;
  /** A fresh schema holding the shared tables (see `sharedTables`), dropped after the run. */
  readonly schema: string;
  /** For setup only (one connection); the contender must not close it. */
  readonly admin: Db;
  /** Connections the producer side may use at once. */
  readonly clients: number;
  /** Opens a pool with a bench application name so the noise watch does not count it as foreign. */
  connect(max: number, role: string): Promise<Db>;
}

export interface RunningContender {
  /**
   * One business transaction: UPDATE the account row of `key` and record an event carrying
   * `payload`, atomically (as far as the contender allows). Resolves after the commit with the
   * event's id, which the consumer side writes into `bench_effects`.
   */
  transact(key: string, payload: string): Promise<string>;
  /** Stops the pipeline and closes everything the contender opened. */
  stop(): Promise<void>;
}

/**
 * The business table, the projection, and the effects log every consumer writes to. One row
 * per application of an event in `bench_effects` (no unique key on purpose), so lost and
 * duplicated effects are counted by the database, not by the contender's own bookkeeping.
 * `applied_at` is the database clock inside the applying transaction.
 */
export function sharedTables(schema: string, keys: number): string {
  const s = `"${schema}"`;
  return `
    CREATE TABLE ${s}.bench_accounts (key text PRIMARY KEY, balance bigint NOT NULL, payload text);
    INSERT INTO ${s}.bench_accounts (key, balance) SELECT 'k' || g, 0 FROM generate_series(0, ${keys - 1}) AS g;
    CREATE TABLE ${s}.bench_projection (key text PRIMARY KEY, last_event text NOT NULL, payload text);
    CREATE TABLE ${s}.bench_effects (
      event_id text NOT NULL, key text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE INDEX ON ${s}.bench_effects (event_id);`;
}

/** The business write shared by all contenders; `$1` key, `$2` payload. */
export const businessUpdate = (schema: string): string =>
  `UPDATE "${schema}".bench_accounts SET balance = balance + 1, payload = $2 WHERE key = $1`;

/** What each consumer does per event: `$1` event id, `$2` key, `$3` payload. */
export const projectionUpsert = (schema: string): string =>
  `INSERT INTO "${schema}".bench_projection (key, last_event, payload) VALUES ($2, $1, $3)
   ON CONFLICT (key) DO UPDATE SET last_event = EXCLUDED.last_event, payload = EXCLUDED.payload`;

export const effectInsert = (schema: string): string =>
  `INSERT INTO "${schema}".bench_effects (event_id, key) VALUES ($1, $2)`;

import type { Db, Sql } from '../../src/store/db.js';

/**
 * The business transaction the append benchmarks price the outbox against: UPDATE one account
 * row, then (for the floor) the smallest outbox INSERT anyone would write. Shared so every
 * benchmark compares with the same thing.
 */
export interface BusinessTables {
  /** UPDATE one account; resolves with its new version. */
  update(tx: Sql, id: number): Promise<number>;
  /** The hand-written outbox floor: one ~200-byte row into a bigserial-keyed table, one index. */
  handWrittenInsert(tx: Sql, id: number): Promise<void>;
}

/** The same business facts travel in every outbox; Tidemark adds its envelope around them. */
export const depositData = (id: number) => ({
  accountId: id,
  delta: 1,
  reason: 'benchmark deposit',
  currency: 'EUR',
});

/** Creates `accounts` account rows and the hand-written outbox table in quoted schema `s`. */
export async function createBusinessTables(db: Db, s: string, accounts: number): Promise<BusinessTables> {
  await db.query(`CREATE TABLE ${s}.bench_account (id integer PRIMARY KEY, balance bigint NOT NULL,
      version bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`INSERT INTO ${s}.bench_account (id, balance) SELECT g, 0 FROM generate_series(1, $1) g`, [
    accounts,
  ]);
  await db.query(`CREATE TABLE ${s}.bench_outbox (
      id bigserial PRIMARY KEY, aggregate_type text NOT NULL, aggregate_id text NOT NULL,
      event_type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`VACUUM ANALYZE ${s}.bench_account`);
  return {
    async update(tx, id) {
      const r = await tx.query<{ version: number }>(
        `UPDATE ${s}.bench_account SET balance = balance + 1, version = version + 1, updated_at = now()
         WHERE id = $1 RETURNING version`,
        [id],
      );
      return Number(r.rows[0]?.version);
    },
    async handWrittenInsert(tx, id) {
      await tx.query(
        `INSERT INTO ${s}.bench_outbox (aggregate_type, aggregate_id, event_type, payload)
         VALUES ('account', $1, 'account.deposited', $2::jsonb)`,
        [String(id), JSON.stringify(depositData(id))],
      );
    },
  };
}

/**
 * `clients` closed-loop clients each committing `work` in its own transaction, back to back,
 * for `seconds`; counts the transactions.
 */
export async function runClosedLoop(
  db: Db,
  clients: number,
  seconds: number,
  nextId: () => number,
  work: (tx: Sql, id: number) => Promise<unknown>,
): Promise<{ count: number; ms: number }> {
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  let count = 0;
  const client = async () => {
    while (performance.now() < end) {
      const id = nextId();
      await db.transaction((tx) => work(tx, id));
      count++;
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { count, ms: performance.now() - started };
}

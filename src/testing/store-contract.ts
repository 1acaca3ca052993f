import { describe, expect, it } from 'vitest';
import type { Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';

export interface StoreUnderTest {
  readonly db: Db;
  /** A schema of its own, already migrated. */
  readonly schema: string;
  cleanup(): Promise<void>;
}

/**
 * The behaviour every `Db` implementation must have. Call it from a test file with a factory
 * that opens a fresh, migrated database (or schema).
 */
export function storeContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`Db contract: ${name}`, () => {
    const withStore = (body: (store: StoreUnderTest) => Promise<void>) => async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.cleanup();
      }
    };

    it(
      'runs parameterised statements and decodes int8 as number and jsonb as object',
      withStore(async ({ db }) => {
        const result = await db.query<{ n: number; j: { a: number[] }; t: string }>(
          `SELECT $1::int8 AS n, $2::jsonb AS j, $3::text AS t`,
          [9_007_199_254, JSON.stringify({ a: [1, 2] }), "it's"],
        );
        expect(result.rows).toEqual([{ n: 9_007_199_254, j: { a: [1, 2] }, t: "it's" }]);
      }),
    );

    it(
      'commits a transaction whose work resolves',
      withStore(async ({ db, schema }) => {
        await db.query(`CREATE TABLE "${schema}".kv (k text PRIMARY KEY, v int)`);
        const value = await db.transaction(async (tx) => {
          await tx.query(`INSERT INTO "${schema}".kv VALUES ('a', 1)`);
          const inside = await tx.query<{ v: number }>(`SELECT v FROM "${schema}".kv WHERE k = 'a'`);
          return inside.rows[0]?.v;
        });
        expect(value).toBe(1);
        const after = await db.query(`SELECT k, v FROM "${schema}".kv`);
        expect(after.rows).toEqual([{ k: 'a', v: 1 }]);
      }),
    );

    it(
      'rolls back a transaction whose work rejects and passes the rejection on',
      withStore(async ({ db, schema }) => {
        await db.query(`CREATE TABLE "${schema}".kv (k text PRIMARY KEY, v int)`);
        const failure = new Error('business rule broken');
        await expect(
          db.transaction(async (tx) => {
            await tx.query(`INSERT INTO "${schema}".kv VALUES ('a', 1)`);
            throw failure;
          }),
        ).rejects.toBe(failure);
        const after = await db.query(`SELECT count(*)::int AS n FROM "${schema}".kv`);
        expect(after.rows[0]).toEqual({ n: 0 });
        // The connection is usable afterwards.
        await db.transaction((tx) => tx.query(`INSERT INTO "${schema}".kv VALUES ('b', 2)`));
        expect((await db.query(`SELECT k FROM "${schema}".kv`)).rows).toEqual([{ k: 'b' }]);
      }),
    );

    it(
      'reports rows changed by a statement',
      withStore(async ({ db, schema }) => {
        await db.query(`CREATE TABLE "${schema}".kv (k text PRIMARY KEY, v int)`);
        await db.query(`INSERT INTO "${schema}".kv VALUES ('a', 1), ('b', 2), ('c', 3)`);
        const updated = await db.query(`UPDATE "${schema}".kv SET v = v + 1 WHERE v >= 2`);
        expect(updated.rowCount).toBe(2);
      }),
    );

    it(
      'delivers NOTIFY payloads to a listener until it unlistens',
      withStore(async ({ db, schema }) => {
        const channel = `c_${schema}`;
        const received: string[] = [];
        const unlisten = await db.listen(channel, (payload) => received.push(payload));
        await db.query(`SELECT pg_notify($1, 'one')`, [channel]);
        await expect.poll(() => received, { timeout: 5_000 }).toEqual(['one']);
        await unlisten();
        await db.query(`SELECT pg_notify($1, 'two')`, [channel]);
        await db.query(`SELECT pg_notify($1, 'three')`, [channel]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(received).toEqual(['one']);
      }),
    );

    it(
      'has the snapshot functions the gap-safe relay depends on',
      withStore(async ({ db }) => {
        const result = await db.query<{ ok: boolean }>(
          `SELECT pg_snapshot_xmin(pg_current_snapshot()) <= pg_current_xact_id() AS ok`,
        );
        expect(result.rows).toEqual([{ ok: true }]);
      }),
    );

    it(
      'applies migrations once: a second run applies nothing',
      withStore(async ({ db, schema }) => {
        const again = await migrate(db, schema);
        expect(again.applied).toEqual([]);
        expect(again.current).toBeGreaterThanOrEqual(1);
        const tables = await db.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
          [schema],
        );
        expect(tables.rows.map((r) => r.table_name)).toEqual(
          expect.arrayContaining(['outbox', 'log', 'inbox', 'relay_checkpoints', 'schema_migrations']),
        );
      }),
    );

    it(
      'serialises concurrent migrations of a fresh schema',
      withStore(async ({ db, schema }) => {
        const fresh = `${schema}_m`;
        try {
          const results = await Promise.all([migrate(db, fresh), migrate(db, fresh), migrate(db, fresh)]);
          const appliedTotal = results.flatMap((r) => r.applied);
          expect(appliedTotal).toEqual([...new Set(appliedTotal)]);
          expect(results.every((r) => r.current === results[0]!.current)).toBe(true);
        } finally {
          await db.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
        }
      }),
    );
  });
}

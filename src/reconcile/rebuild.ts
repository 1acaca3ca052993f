import type { Db } from '../store/db.js';
import { pickFields, rowDigest, slotOf } from './digest.js';
import type { ScopeDigests } from './store.js';

export interface StateRow {
  readonly id: string;
  readonly version: number;
  readonly state: unknown;
}

/**
 * Recomputes one scope's digests from what its table holds, in one transaction: after a
 * restore, after the projection lost rows behind the consumer's back, after changing the
 * fields, or to start reconciling an existing table. The row digests go in by batches, the
 * bucket digests are folded from them inside the database. Rows confirmed by a run before
 * stay confirmed only where the version is unchanged (`confirmed: true` marks all).
 */
export async function rebuildDigests(
  db: Db,
  digests: ScopeDigests,
  rows: Iterable<StateRow> | AsyncIterable<StateRow>,
  options: { readonly confirmed?: boolean } = {},
): Promise<number> {
  const { s, scope, fields } = digests;
  let count = 0;
  await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM ${s}.recon_rows WHERE scope = $1`, [scope]);
    await tx.query(`DELETE FROM ${s}.recon_buckets WHERE scope = $1`, [scope]);
    let batch: StateRow[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await tx.query(
        `INSERT INTO ${s}.recon_rows (scope, entity_id, version, digest, slot, reconciled_version)
         SELECT $1, id, v, d, b, CASE WHEN $6::boolean THEN v ELSE 0 END
         FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[]) AS u(id, v, d, b)`,
        [
          scope,
          batch.map((r) => r.id),
          batch.map((r) => r.version),
          batch.map((r) => rowDigest(r.id, r.version, pickFields(r.state, fields)).toString()),
          batch.map((r) => slotOf(r.id)),
          options.confirmed ?? false,
        ],
      );
      count += batch.length;
      batch = [];
    };
    for await (const row of rows) {
      batch.push(row);
      if (batch.length >= 5_000) await flush();
    }
    await flush();
    await tx.query(
      `INSERT INTO ${s}.recon_buckets (scope, bucket, digest, rows)
       SELECT scope, slot >> 12, bit_xor(digest), count(*) FROM ${s}.recon_rows WHERE scope = $1 GROUP BY scope, slot >> 12`,
      [scope],
    );
  });
  return count;
}

import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';

export interface PruneOutboxOptions {
  readonly schema?: string;
  /** Only rows whose event time is before this instant (default: no age limit). */
  readonly olderThan?: Date;
  /** Rows deleted per statement (default 5,000), so a large prune never holds long locks. */
  readonly batchSize?: number;
  /** Count what would go, delete nothing. */
  readonly dryRun?: boolean;
}

export interface PruneOutboxResult {
  /** Rows deleted (or, in a dry run, that would be). */
  readonly pruned: number;
  /**
   * The relay whose cursor is furthest behind: rows it has not passed are kept. A relay that no
   * longer runs holds every later row back, so its name is worth checking.
   */
  readonly slowestRelay?: { readonly name: string; readonly relayed: number };
}

/**
 * Deletes outbox rows that can no longer matter: every relay of the schema has moved past them,
 * and a later version of the same entity is in the outbox (so each entity keeps its newest row,
 * which the ledger reads as that version's `accepted` stage). With no relay checkpoint at all
 * nothing has been relayed and nothing is deleted. The backbone keeps its own copy of every
 * relayed event (postgres-log: the `log` table), so replays do not need the outbox.
 */
export async function pruneOutbox(db: Db, options: PruneOutboxOptions = {}): Promise<PruneOutboxResult> {
  const s = quoteIdentifier(options.schema ?? 'tidemark', 'schema name');
  const batchSize = options.batchSize ?? 5_000;
  const slowest = (
    await db.query<{ relay: string; txid: string; position: string; relayed: string }>(
      `SELECT relay, txid::text AS txid, position, relayed FROM ${s}.relay_checkpoints
       ORDER BY txid, position LIMIT 1`,
    )
  ).rows[0];
  if (!slowest) return { pruned: 0 };
  const candidates = `SELECT o.txid, o.position FROM ${s}.outbox o
      WHERE (o.txid, o.position) <= ($1::xid8, $2::bigint)
        AND ($3::timestamptz IS NULL OR (o.envelope->>'time')::timestamptz < $3)
        AND EXISTS (SELECT 1 FROM ${s}.outbox n
          WHERE n.entity_type = o.entity_type AND n.entity_id = o.entity_id
            AND n.entity_version > o.entity_version)`;
  const params = [slowest.txid, slowest.position, options.olderThan ?? null];
  const relay = { name: slowest.relay, relayed: Number(slowest.relayed) };
  if (options.dryRun) {
    const counted = await db.query<{ n: string }>(`SELECT count(*) AS n FROM (${candidates}) c`, params);
    return { pruned: Number(counted.rows[0]?.n ?? 0), slowestRelay: relay };
  }
  let pruned = 0;
  for (;;) {
    const deleted = await db.query(
      `DELETE FROM ${s}.outbox WHERE (txid, position) IN (${candidates} LIMIT $4)`,
      [...params, batchSize],
    );
    pruned += deleted.rowCount;
    if (deleted.rowCount < batchSize) return { pruned, slowestRelay: relay };
  }
}

/**
 * Relay statements. The read is the heart of gap safety: PostgreSQL sequences are not
 * commit-ordered, so a row with a lower position can become visible after a higher one.
 * We read only rows whose transaction id is below the oldest transaction still running
 * (`pg_snapshot_xmin`): every such transaction has finished, so no row can still appear
 * behind the cursor. The cursor is the (txid, position) pair; comparing it as a row value
 * keeps batch boundaries exact even when one transaction wrote many rows. ORDER BY names the
 * table's columns (o.txid): a bare `txid` would mean the text output column, and '1000' sorts
 * before '999', which skips rows at every power of ten.
 */
export function relayStatements(s: string) {
  return {
    read: `SELECT txid::text AS txid, position, entity_type, entity_id, entity_version,
        envelope || jsonb_build_object('entityversion', entity_version) AS envelope
      FROM ${s}.outbox AS o
      WHERE (o.txid, o.position) > ($1::xid8, $2::bigint)
        AND o.txid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY o.txid, o.position
      LIMIT $3`,
    // The same read without the envelope, for backbones that copy rows inside the database.
    readRefs: `SELECT txid::text AS txid, position, entity_type, entity_id, entity_version,
        envelope->>'partitionkey' AS partition_key
      FROM ${s}.outbox AS o
      WHERE (o.txid, o.position) > ($1::xid8, $2::bigint)
        AND o.txid < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY o.txid, o.position
      LIMIT $3`,
    ensure: `INSERT INTO ${s}.relay_checkpoints (relay) VALUES ($1) ON CONFLICT (relay) DO NOTHING`,
    claim: `UPDATE ${s}.relay_checkpoints
      SET owner = $2, lease_until = now() + make_interval(secs => $3::float8 / 1000)
      WHERE relay = $1 AND (owner IS NULL OR owner = $2 OR lease_until < now())
      RETURNING txid::text AS txid, position`,
    // The mark is the ledger's `published` record for every row up to the cursor: one row per
    // batch, in the same statement, so it exists exactly when the checkpoint moved. Its time is
    // the clock's, not now(): the transaction may have begun before the rows it moved committed.
    advance: `WITH advanced AS (
        UPDATE ${s}.relay_checkpoints
        SET txid = $3::xid8, position = $4, relayed = relayed + $5, updated_at = now(),
            lease_until = now() + make_interval(secs => $6::float8 / 1000)
        WHERE relay = $1 AND owner = $2
        RETURNING relay)
      INSERT INTO ${s}.relay_marks (relay, txid, position, events, published_at)
      SELECT relay, $3::xid8, $4, $5, clock_timestamp() FROM advanced`,
    renew: `UPDATE ${s}.relay_checkpoints
      SET lease_until = now() + make_interval(secs => $3::float8 / 1000)
      WHERE relay = $1 AND owner = $2`,
    release: `UPDATE ${s}.relay_checkpoints SET owner = NULL, lease_until = NULL WHERE relay = $1 AND owner = $2`,
    checkpoint: `SELECT txid::text AS txid, position, relayed, owner, lease_until, updated_at
      FROM ${s}.relay_checkpoints WHERE relay = $1`,
    backlog: `SELECT count(*)::int AS backlog,
        min(txid)::text AS oldest_txid
      FROM ${s}.outbox WHERE (txid, position) > ($1::xid8, $2::bigint)`,
    // The transaction holding the relay back: the oldest one that has a transaction id.
    holder: `SELECT pid, backend_xid::text AS xid, state,
        (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::bigint AS age_ms
      FROM pg_stat_activity
      WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
      ORDER BY age(backend_xid) DESC LIMIT 1`,
  };
}

/**
 * Consumer statements. All of them run in the consumer's own transaction, together with
 * the handler's projection writes, so an event's effect, its inbox row and the entity's
 * applied version commit or roll back as one.
 */
export function consumerStatements(s: string) {
  return {
    // Serialises everything this consumer does to one entity, even across instances during a
    // rebalance, and even before the entity has a row that FOR UPDATE could lock.
    // The shared lock on the whole consumer lets a rebuild's swap stop every apply for a moment.
    lockEntity: `SELECT pg_advisory_xact_lock_shared(hashtextextended($2, 0)), pg_advisory_xact_lock(hashtextextended($1, 0))`,
    lockConsumer: `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
    // blocked_by: an earlier dead letter of the same key this event must wait behind ($7 limits
    // it to rows queued before a dead letter being drained).
    lookup: `SELECT
        (SELECT digest FROM ${s}.inbox WHERE consumer = $1 AND authority = $2 AND event_id = $3) AS digest,
        (SELECT version FROM ${s}.consumer_entities
          WHERE consumer = $1 AND entity_type = $4 AND entity_id = $5) AS version,
        (SELECT id FROM ${s}.dead_letters
          WHERE consumer = $1 AND partition_key = $6 AND status IN ('open', 'retry', 'parked')
            AND ($7::bigint IS NULL OR id < $7) ORDER BY id LIMIT 1) AS blocked_by`,
    inboxInsert: `INSERT INTO ${s}.inbox
        (consumer, authority, event_id, entity_type, entity_id, entity_version, digest, outcome)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    setApplied: `INSERT INTO ${s}.consumer_entities (consumer, entity_type, entity_id, version, applied_at)
      VALUES ($1, $2, $3, $4, now())
      ON CONFLICT (consumer, entity_type, entity_id) DO UPDATE SET version = $4, applied_at = now()`,
    hold: `INSERT INTO ${s}.consumer_pending (consumer, entity_type, entity_id, entity_version, envelope)
      VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING`,
    takeHeld: `DELETE FROM ${s}.consumer_pending
      WHERE consumer = $1 AND entity_type = $2 AND entity_id = $3 AND entity_version = $4
      RETURNING envelope`,
    dropSuperseded: `DELETE FROM ${s}.consumer_pending
      WHERE consumer = $1 AND entity_type = $2 AND entity_id = $3 AND entity_version <= $4`,
    heldCount: `SELECT count(*)::int AS held FROM ${s}.consumer_pending WHERE consumer = $1`,
    forgetHeld: `DELETE FROM ${s}.inbox WHERE consumer = $1 AND authority = $2 AND event_id = $3 AND outcome = 'held'`,
    projectionVersion: `SELECT version FROM ${s}.consumer_entities
      WHERE consumer = $1 AND entity_type = $2 AND entity_id = $3`,
  };
}

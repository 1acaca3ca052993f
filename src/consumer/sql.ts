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
    // The batch path's counterparts: one statement for a whole batch instead of one per event.
    // Entity locks are taken in hash order, so two batches sharing entities cannot deadlock.
    lockEntities: `SELECT pg_advisory_xact_lock_shared(hashtextextended($2, 0)),
        (SELECT count(pg_advisory_xact_lock(h)) FROM
          (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS locks)`,
    // Per event, in batch order: the inbox digest, the applied version, the first dead letter of
    // its key, and whether events of the entity wait in consumer_pending.
    lookupMany: `SELECT u.ord,
        (SELECT digest FROM ${s}.inbox i
          WHERE i.consumer = $1 AND i.authority = u.authority AND i.event_id = u.event_id) AS digest,
        (SELECT version FROM ${s}.consumer_entities e
          WHERE e.consumer = $1 AND e.entity_type = u.entity_type AND e.entity_id = u.entity_id) AS version,
        (SELECT id FROM ${s}.dead_letters d
          WHERE d.consumer = $1 AND d.partition_key = u.partition_key AND d.status IN ('open', 'retry', 'parked')
          ORDER BY d.id LIMIT 1) AS blocked_by,
        EXISTS (SELECT 1 FROM ${s}.consumer_pending p
          WHERE p.consumer = $1 AND p.entity_type = u.entity_type AND p.entity_id = u.entity_id) AS pending
      FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[])
        WITH ORDINALITY AS u(authority, event_id, entity_type, entity_id, partition_key, ord)
      ORDER BY u.ord`,
    inboxInsertMany: `INSERT INTO ${s}.inbox
        (consumer, authority, event_id, entity_type, entity_id, entity_version, digest, outcome)
      SELECT $1, * FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[])`,
    setAppliedMany: `INSERT INTO ${s}.consumer_entities (consumer, entity_type, entity_id, version, applied_at)
      SELECT $1, t, i, v, now() FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(t, i, v)
      ON CONFLICT (consumer, entity_type, entity_id) DO UPDATE SET version = excluded.version, applied_at = now()`,
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

/**
 * Dead-letter statements. "Active" rows ('open', 'retry', 'parked') of one consumer and
 * partition key form an ordered queue (by id); while a key has any, new events of that key
 * join the queue instead of being applied, so the key's order is kept.
 */
export const activeStatuses = `('open', 'retry', 'parked')`;

export function deadLetterStatements(s: string) {
  return {
    /** Records a failed event as the head of its key's queue (or bumps its attempts if queued). */
    fail: `INSERT INTO ${s}.dead_letters
        (consumer, authority, event_id, entity_type, entity_id, entity_version, partition_key,
         envelope, digest, status, code, reason, stack, attempts)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, 'open', $10, $11, $12, $13)
      ON CONFLICT (consumer, authority, event_id) WHERE status IN ${activeStatuses}
      DO UPDATE SET status = 'open', code = $10, reason = $11, stack = $12,
        attempts = ${s}.dead_letters.attempts + $13, updated_at = now()
      RETURNING id`,
    park: `INSERT INTO ${s}.dead_letters
        (consumer, authority, event_id, entity_type, entity_id, entity_version, partition_key,
         envelope, digest, status, code, reason)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, 'parked', 'TM_PARKED', $10)
      ON CONFLICT (consumer, authority, event_id) WHERE status IN ${activeStatuses} DO NOTHING`,
    /** First active row of each key whose head is no longer 'open': those queues can move. */
    movableHeads: `SELECT h.partition_key FROM (
        SELECT DISTINCT ON (partition_key) partition_key, status FROM ${s}.dead_letters
        WHERE consumer = $1 AND status IN ${activeStatuses}
        ORDER BY partition_key, id) h
      WHERE h.status <> 'open' LIMIT $2`,
    queue: `SELECT id, envelope, original_envelope, status FROM ${s}.dead_letters
      WHERE consumer = $1 AND partition_key = $2 AND status IN ${activeStatuses} ORDER BY id`,
    /**
     * Taken first by a drain, before the entity lock: an operator's action locks the same row,
     * so the two never interleave (and the lock order is the same on both sides).
     */
    claim: `SELECT id FROM ${s}.dead_letters WHERE id = $1 AND status IN ${activeStatuses} FOR UPDATE`,
    resolve: `UPDATE ${s}.dead_letters SET status = 'resolved', updated_at = now()
      WHERE id = $1 AND status IN ${activeStatuses}`,
    /** Only a row still released for a retry goes back to 'open'; an operator's skip stands. */
    reopen: `UPDATE ${s}.dead_letters
      SET status = 'open', code = $2, reason = $3, stack = $4, attempts = attempts + 1, updated_at = now()
      WHERE id = $1 AND status = 'retry'`,
  };
}

export const dlqChannel = (schema: string): string => `tidemark_dlq_${schema}`;

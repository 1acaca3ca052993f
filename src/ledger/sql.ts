/** Ledger reads. The authority's stages come from the outbox and the relay marks. */
export function ledgerStatements(s: string) {
  return {
    accepted: `SELECT o.entity_version AS version, o.event_id::text AS event_id,
        o.envelope->>'type' AS event_type, o.envelope->>'authority' AS authority,
        o.envelope->>'time' AS event_time, o.envelope->>'effectivetime' AS effective_time,
        o.envelope->>'correlationid' AS correlation_id, o.envelope->>'causationid' AS causation_id,
        o.envelope ? 'schemaversion' AS validated,
        (SELECT m.published_at FROM ${s}.relay_marks m
          WHERE (m.txid, m.position) >= (o.txid, o.position)
          ORDER BY m.txid, m.position LIMIT 1) AS published_at
      FROM ${s}.outbox o
      WHERE o.entity_type = $1 AND o.entity_id = $2
      ORDER BY o.entity_version, o.position`,
    stages: `SELECT entity_version AS version, context, stage, at, authority, event_id::text AS event_id,
        event_time, effective_time, correlation_id, causation_id, detail
      FROM ${s}.ledger_stages
      WHERE entity_type = $1 AND entity_id = $2
      ORDER BY at, entity_version`,
    knownTypes: `SELECT entity_type FROM ${s}.authorities
      UNION SELECT DISTINCT entity_type FROM ${s}.ledger_stages ORDER BY 1`,
  };
}

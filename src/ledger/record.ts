import type { Sql } from '../store/db.js';
import type { StageRecord } from './stages.js';

/**
 * NOTIFY channel on which new ledger stages of one schema wake waiters (`waitFor`). The
 * payload is a JSON array of `[entityType, entityId]` pairs, or `*` (re-check everything)
 * when the pairs would not fit in a notification.
 */
export function ledgerChannel(schema: string): string {
  return `tidemark_ledger_${schema}`;
}

/** Largest payload sent as pairs; PostgreSQL refuses payloads of 8000 bytes or more. */
export const ledgerPayloadLimit = 7_000;

/**
 * Writes stages into `s.ledger_stages` through the caller's transaction, so a stage exists if
 * and only if the work it describes committed. A stage already recorded keeps its first time:
 * redelivered reports and replays never move a timeline.
 * @param s the quoted Tidemark schema
 */
export async function recordStages(tx: Sql, s: string, records: readonly StageRecord[]): Promise<void> {
  if (records.length === 0) return;
  // One array per column: the statement text stays the same for every batch size, so it is
  // prepared once per connection instead of parsed and planned for each batch.
  const columns: unknown[][] = Array.from({ length: 13 }, () => []);
  for (const r of records) {
    const values = [
      r.entityType,
      r.entityId,
      r.version,
      r.context,
      r.stage,
      r.at ?? null,
      r.authority,
      r.eventId ?? null,
      r.eventTime ?? null,
      r.effectiveTime ?? null,
      r.correlationId ?? null,
      r.causationId ?? null,
      JSON.stringify(r.detail ?? {}),
    ];
    values.forEach((value, i) => columns[i]!.push(value));
  }
  // One notification per statement, only when a stage is new; delivered at commit, so a waiter
  // never hears of a stage it cannot read yet.
  const channel = ledgerChannel(s.slice(1, -1).replaceAll('""', '"'));
  await tx.query(
    `WITH inserted AS (
     INSERT INTO ${s}.ledger_stages (entity_type, entity_id, entity_version, context, stage, at, authority,
       event_id, event_time, effective_time, correlation_id, causation_id, detail)
     SELECT entity_type, entity_id, entity_version, context, stage, coalesce(at, now()), authority,
       event_id, event_time, effective_time, correlation_id, causation_id, detail
     FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
       $8::uuid[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[], $13::jsonb[])
       WITH ORDINALITY AS u(entity_type, entity_id, entity_version, context, stage, at, authority,
         event_id, event_time, effective_time, correlation_id, causation_id, detail, ord)
     ORDER BY ord
     ON CONFLICT (entity_type, entity_id, entity_version, context, stage) DO NOTHING
     RETURNING entity_type, entity_id),
     keys AS (SELECT json_agg(DISTINCT jsonb_build_array(entity_type, entity_id))::text AS payload
       FROM inserted HAVING count(*) > 0)
     SELECT pg_notify($14::text, CASE WHEN octet_length(payload) > ${ledgerPayloadLimit} THEN '*' ELSE payload END)
     FROM keys`,
    [...columns, channel],
  );
}

/** The notification payload naming `pairs` of `[entityType, entityId]` (see {@link ledgerChannel}). */
export function ledgerPayload(pairs: Iterable<readonly [string, string]>): string {
  const seen = new Map<string, readonly [string, string]>();
  for (const pair of pairs) seen.set(JSON.stringify(pair), pair);
  const payload = JSON.stringify([...seen.values()]);
  return Buffer.byteLength(payload) > ledgerPayloadLimit ? '*' : payload;
}

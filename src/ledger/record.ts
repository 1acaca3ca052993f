import type { Sql } from '../store/db.js';
import type { StageRecord } from './stages.js';

const columns = 13;

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
  const params: unknown[] = [];
  const rows = records.map((r, i) => {
    params.push(
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
    );
    const p = (k: number) => `$${i * columns + k}`;
    return `(${p(1)}, ${p(2)}, ${p(3)}::bigint, ${p(4)}, ${p(5)}, coalesce(${p(6)}::timestamptz, now()), ${p(7)},
      ${p(8)}::uuid, ${p(9)}::timestamptz, ${p(10)}::timestamptz, ${p(11)}, ${p(12)}, ${p(13)}::jsonb)`;
  });
  // One notification per statement, only when a stage is new; delivered at commit, so a waiter
  // never hears of a stage it cannot read yet.
  const channel = ledgerChannel(s.slice(1, -1).replaceAll('""', '"'));
  params.push(channel);
  const c = `$${records.length * columns + 1}`;
  await tx.query(
    `WITH inserted AS (
     INSERT INTO ${s}.ledger_stages (entity_type, entity_id, entity_version, context, stage, at, authority,
       event_id, event_time, effective_time, correlation_id, causation_id, detail)
     VALUES ${rows.join(', ')}
     ON CONFLICT (entity_type, entity_id, entity_version, context, stage) DO NOTHING
     RETURNING entity_type, entity_id),
     keys AS (SELECT json_agg(DISTINCT jsonb_build_array(entity_type, entity_id))::text AS payload
       FROM inserted HAVING count(*) > 0)
     SELECT pg_notify(${c}::text, CASE WHEN octet_length(payload) > ${ledgerPayloadLimit} THEN '*' ELSE payload END)
     FROM keys`,
    params,
  );
}

/** The notification payload naming `pairs` of `[entityType, entityId]` (see {@link ledgerChannel}). */
export function ledgerPayload(pairs: Iterable<readonly [string, string]>): string {
  const seen = new Map<string, readonly [string, string]>();
  for (const pair of pairs) seen.set(JSON.stringify(pair), pair);
  const payload = JSON.stringify([...seen.values()]);
  return Buffer.byteLength(payload) > ledgerPayloadLimit ? '*' : payload;
}

import type { Sql } from '../store/db.js';
import type { StageRecord } from './stages.js';

const columns = 13;

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
  await tx.query(
    `INSERT INTO ${s}.ledger_stages (entity_type, entity_id, entity_version, context, stage, at, authority,
       event_id, event_time, effective_time, correlation_id, causation_id, detail)
     VALUES ${rows.join(', ')}
     ON CONFLICT (entity_type, entity_id, entity_version, context, stage) DO NOTHING`,
    params,
  );
}

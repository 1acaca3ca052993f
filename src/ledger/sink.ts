import type { Envelope } from '../envelope/types.js';
import type { Producer } from '../producer/producer.js';
import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { recordStages } from './record.js';
import type { LedgerStage, StageRecord } from './stages.js';

/** The entity type of stage reports a consuming context sends back to the authority. */
export const stageReportType = 'ledger-stage';
/** The domain event carrying one transaction's stages of one entity in one context. */
export const stageReportEvent = 'StagesReached';

export interface StageReport {
  readonly records: readonly StageRecord[];
}

/**
 * Where a consuming context's stages go, always inside the transaction of the work they
 * describe. Local: the ledger table of a schema in the same database (embedded estates, or a
 * context that keeps its own ledger). Reported: also a stage report in the context's own
 * outbox, which its relay carries over the backbone to the authority's collector — the ledger
 * travels by Tidemark itself, and a consumer never writes into the authority's database.
 */
export interface LedgerSink {
  /** The context the stages are recorded for. */
  readonly context: string;
  /** The quoted schema whose ledger table holds this context's own stages. */
  readonly ledgerSchema: string;
  write(tx: Sql, records: readonly StageRecord[]): Promise<void>;
}

export function localLedgerSink(options: { context: string; schema: string }): LedgerSink {
  const s = quoteIdentifier(options.schema, 'ledger schema name');
  return {
    context: options.context,
    ledgerSchema: s,
    write: (tx, records) => recordStages(tx, s, records),
  };
}

/**
 * Records the stages locally and appends them as a stage report with `producer` (whose
 * context must be registered as the authority of `ledger-stage` in its schema).
 */
export function reportingLedgerSink(options: {
  context: string;
  schema: string;
  producer: Producer;
}): LedgerSink {
  const local = localLedgerSink(options);
  return {
    context: options.context,
    ledgerSchema: local.ledgerSchema,
    async write(tx, records) {
      await local.write(tx, records);
      const byEntity = new Map<string, StageRecord[]>();
      for (const record of records) {
        const key = `${options.context}:${record.entityType}:${record.entityId}`;
        const list = byEntity.get(key);
        if (list) list.push(record);
        else byEntity.set(key, [record]);
      }
      for (const [id, list] of byEntity) {
        await options.producer.append<StageReport>(
          tx,
          { type: stageReportType, id },
          {
            kind: 'domain',
            type: stageReportEvent,
            data: { records: list },
          },
          { correlationId: list[0]!.correlationId, causationId: list[0]!.eventId },
        );
      }
    },
  };
}

/** The stage record of `envelope` reaching `stage` in `context`, with the event's temporal metadata. */
export function stageOf(
  envelope: Envelope,
  context: string,
  stage: LedgerStage,
  detail?: Readonly<Record<string, unknown>>,
): StageRecord {
  return {
    entityType: envelope.entitytype,
    entityId: envelope.entityid,
    version: envelope.entityversion,
    context,
    stage,
    at: new Date(),
    authority: envelope.authority,
    eventId: envelope.id,
    eventTime: envelope.time,
    ...(envelope.effectivetime ? { effectiveTime: envelope.effectivetime } : {}),
    ...(envelope.correlationid ? { correlationId: envelope.correlationid } : {}),
    ...(envelope.causationid ? { causationId: envelope.causationid } : {}),
    ...(envelope.type ? { detail: { eventType: envelope.type, ...detail } } : detail ? { detail } : {}),
  };
}

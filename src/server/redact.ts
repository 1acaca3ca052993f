import type { DeadLetterDetail } from '../dlq/index.js';

/** Field allow-lists: consumer → entity type → the top-level fields of `data` a viewer may see. */
export type FieldAllowLists = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function projectEnvelope(envelope: unknown, fields: readonly string[] | undefined): unknown {
  if (!isRecord(envelope) || !('data' in envelope)) return envelope;
  const { data, ...rest } = envelope;
  if (!fields) return { ...rest, dataRedacted: true };
  const kept: Record<string, unknown> = {};
  if (isRecord(data)) for (const f of fields) if (Object.hasOwn(data, f)) kept[f] = data[f];
  return {
    ...rest,
    data: kept,
    dataRedacted: Object.keys(isRecord(data) ? data : {}).length > fields.length,
  };
}

/**
 * What a viewer sees of a dead letter: the event's data cut down to the consumer's allow-list
 * for the type, or withheld entirely when there is none. Operators see everything: they may
 * have to edit it.
 */
export function forViewer(detail: DeadLetterDetail, lists: FieldAllowLists | undefined): DeadLetterDetail {
  const fields =
    detail.entityType === null ? undefined : (lists?.[detail.consumer]?.[detail.entityType] ?? undefined);
  return {
    ...detail,
    envelope: projectEnvelope(detail.envelope, fields),
    originalEnvelope:
      detail.originalEnvelope === null ? null : projectEnvelope(detail.originalEnvelope, fields),
  };
}

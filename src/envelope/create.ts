import { randomUUID } from 'node:crypto';
import type { Envelope, EventKind } from './types.js';
import { invalidEnvelope, parseEnvelope } from './validate.js';

export interface EnvelopeInput<TData = unknown> {
  readonly kind: EventKind;
  /**
   * Event type; required for domain events, else defaults to `<entityType>.state`,
   * `<entityType>.notice` or `<entityType>.deleted` (tombstone).
   */
  readonly type?: string;
  readonly authority: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly entityVersion: number;
  readonly data?: TData;
  readonly id?: string;
  readonly time?: Date | string;
  readonly partitionKey?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly effectiveTime?: Date | string;
  readonly traceparent?: string;
  readonly schemaVersion?: number;
}

/** `/contexts/<authority>`: the CloudEvents `source` Tidemark uses for a context. */
export function sourceOf(authority: string): string {
  return `/contexts/${encodeURIComponent(authority)}`;
}

export function defaultPartitionKey(entityType: string, entityId: string): string {
  return `${entityType}/${entityId}`;
}

const iso = (t: Date | string): string => (typeof t === 'string' ? t : t.toISOString());

/** Builds and validates an envelope; throws `TM_ENVELOPE_INVALID` naming the bad attribute. */
export function createEnvelope<TData>(input: EnvelopeInput<TData>): Envelope<TData> {
  if (input.kind === 'domain' && !input.type) {
    // Validated here rather than defaulted: a domain event without a name says nothing.
    return parseEnvelope({ ...draft(input), type: undefined });
  }
  return parseEnvelope<TData>(draft(input));
}

function draft<TData>(input: EnvelopeInput<TData>): Record<string, unknown> {
  let source: string;
  try {
    source = sourceOf(input.authority);
  } catch (cause) {
    // encodeURIComponent throws URIError on a lone surrogate; report it as the bad attribute.
    throw invalidEnvelope(
      [
        {
          attribute: 'authority',
          expected: 'well-formed Unicode text (it is percent-encoded into source)',
          actual: 'a string with a lone surrogate',
        },
      ],
      cause,
    );
  }
  const envelope: Record<string, unknown> = {
    specversion: '1.0',
    id: input.id ?? randomUUID(),
    source,
    type: input.type ?? `${input.entityType}.${input.kind === 'tombstone' ? 'deleted' : input.kind}`,
    time: iso(input.time ?? new Date()),
    datacontenttype: 'application/json',
    subject: input.entityId,
    eventkind: input.kind,
    entitytype: input.entityType,
    entityid: input.entityId,
    entityversion: input.entityVersion,
    partitionkey: input.partitionKey ?? defaultPartitionKey(input.entityType, input.entityId),
    authority: input.authority,
  };
  if (input.data !== undefined) envelope.data = input.data;
  if (input.correlationId !== undefined) envelope.correlationid = input.correlationId;
  if (input.causationId !== undefined) envelope.causationid = input.causationId;
  if (input.effectiveTime !== undefined) envelope.effectivetime = iso(input.effectiveTime);
  if (input.traceparent !== undefined) envelope.traceparent = input.traceparent;
  if (input.schemaVersion !== undefined) envelope.schemaversion = input.schemaVersion;
  return envelope;
}

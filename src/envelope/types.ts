/**
 * The wire format: CloudEvents 1.0 in structured JSON mode, with Tidemark's
 * extension attributes. Extension names follow the CloudEvents naming rule
 * (lower-case letters and digits, at most 20 characters).
 */

/** What an event carries. See DESIGN.md "Propagation strategies". */
export type EventKind = 'domain' | 'state' | 'notice' | 'tombstone';
export const eventKinds: readonly EventKind[] = ['domain', 'state', 'notice', 'tombstone'];

export interface Envelope<TData = unknown> {
  readonly specversion: '1.0';
  /** Unique per source; with `source` it identifies the event. */
  readonly id: string;
  /** URI-reference of the emitting context, e.g. `/contexts/customer-profile`. */
  readonly source: string;
  /** Event type, e.g. `customer.AddressChanged` or `customer.state`. */
  readonly type: string;
  /** RFC 3339 time the authority accepted the change. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  /** The entity id, repeated as CloudEvents' standard `subject`. */
  readonly subject: string;
  readonly data?: TData;

  // Tidemark extension attributes.
  readonly eventkind: EventKind;
  readonly entitytype: string;
  readonly entityid: string;
  /** Per-entity version; starts at 1 and grows by exactly 1 per accepted change. */
  readonly entityversion: number;
  /** Ordering key; defaults to `<entitytype>/<entityid>`. */
  readonly partitionkey: string;
  /** Name of the context that is the authority for `entitytype`. */
  readonly authority: string;
  readonly correlationid?: string;
  readonly causationid?: string;
  /** RFC 3339 time from which the change is effective in business terms. */
  readonly effectivetime?: string;
  /** W3C trace context of the producing operation. */
  readonly traceparent?: string;
  /** Version of the payload schema for `type`. */
  readonly schemaversion?: number;
}

/** Names of the extension attributes, in the order they are documented. */
export const extensionAttributes = [
  'eventkind',
  'entitytype',
  'entityid',
  'entityversion',
  'partitionkey',
  'authority',
  'correlationid',
  'causationid',
  'effectivetime',
  'traceparent',
  'schemaversion',
] as const;

/**
 * Data minimisation for one reader: an event's data cut down to the reader's allow-list, and
 * PII-tagged fields removed unless the allow-list names them.
 */
import type { Envelope } from '../envelope/types.js';
import { piiPaths } from './pii.js';
import { omitFields, projectFields } from './projection.js';
import type { SchemaLookup } from './schema-set.js';

export interface FieldPolicy {
  /**
   * Allowed field paths (`name`, `address.postcode`) by event type (`customer.AddressChanged`)
   * or entity type (`customer`); an event type's list wins over its entity type's. Data of
   * events without a list is passed whole, except PII.
   */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
  /**
   * The schemas whose `x-pii` tags mark personal data. A tagged field reaches the reader only
   * when its allow-list names that field (or a part of it); naming a parent object is not enough.
   */
  readonly schemas?: SchemaLookup;
}

/** The allow-list that applies to `envelope`, if any. */
export function allowListFor(
  policy: FieldPolicy,
  envelope: Pick<Envelope, 'type' | 'entitytype'>,
): readonly string[] | undefined {
  const fields = policy.fields;
  if (!fields) return undefined;
  if (Object.hasOwn(fields, envelope.type)) return fields[envelope.type];
  return Object.hasOwn(fields, envelope.entitytype) ? fields[envelope.entitytype] : undefined;
}

const piiCache = new WeakMap<object, string[]>();

function piiOf(policy: FieldPolicy, type: string, version: number | undefined): string[] {
  if (!policy.schemas || version === undefined) return [];
  const schema = policy.schemas.get(type, version);
  if (!schema) return [];
  if (typeof schema.schema !== 'object') return [];
  let paths = piiCache.get(schema.schema);
  if (!paths) {
    paths = piiPaths(schema.schema);
    piiCache.set(schema.schema, paths);
  }
  return paths;
}

/** The PII paths of a schema version the allow-list does not grant. */
export function withheldPii(
  policy: FieldPolicy,
  envelope: Pick<Envelope, 'type' | 'entitytype' | 'schemaversion'>,
): string[] {
  const allowed = allowListFor(policy, envelope) ?? [];
  return piiOf(policy, envelope.type, envelope.schemaversion).filter(
    (path) => !allowed.some((entry) => entry === path || entry.startsWith(`${path}.`)),
  );
}

/** `data` as the reader may see it (see {@link FieldPolicy}); the input is not changed. */
export function minimizeData(
  policy: FieldPolicy,
  envelope: Pick<Envelope, 'type' | 'entitytype' | 'schemaversion' | 'data'>,
): unknown {
  if (envelope.data === undefined) return undefined;
  const allowed = allowListFor(policy, envelope);
  const projected = allowed ? projectFields(envelope.data, allowed) : envelope.data;
  return omitFields(projected, withheldPii(policy, envelope));
}

/** The envelope with {@link minimizeData} applied to its data. */
export function minimizeEnvelope<T = unknown>(policy: FieldPolicy, envelope: Envelope): Envelope<T> {
  if (envelope.data === undefined) return envelope as Envelope<T>;
  return { ...envelope, data: minimizeData(policy, envelope) as T };
}

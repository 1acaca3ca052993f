/**
 * What a producer does to its envelopes between building them and writing the outbox rows:
 * validate each against its schema (so a bad event never reaches the outbox) and stamp the
 * schema version it was validated against, then move payloads over the claim-check threshold
 * into the claim-check store.
 */
import type { Envelope } from '../envelope/types.js';
import type { ClaimCheckStore } from '../schema/claim-check/store.js';
import type { SchemaSet } from '../schema/schema-set.js';
import { invalidEvent } from '../schema/validator.js';
import type { Sql } from '../store/db.js';

export interface ProducerSchemaOptions {
  /**
   * The schemas events are validated against before they are appended: a directory's
   * (`loadSchemasFromDirectory`) or the registry's (`await registry.snapshot()`). An event
   * without `schemaVersion` is validated against its type's latest version, and the envelope's
   * `schemaversion` is set to the version it passed.
   */
  readonly schemas?: SchemaSet;
  /** Append events of types that have no schema at all, unvalidated (default false: refused). */
  readonly allowUnknownTypes?: boolean;
  /** Store payloads over its threshold once, in the append's transaction, and send a reference instead. */
  readonly claimCheck?: ClaimCheckStore;
}

/**
 * The envelope stamped with the schema version it matches.
 * @throws TidemarkError `TM_SCHEMA_INVALID_EVENT` naming each field and rule that failed, or
 *   `TM_SCHEMA_UNKNOWN_VERSION` when no schema exists for its type or version.
 */
export function validateForAppend(
  options: Pick<ProducerSchemaOptions, 'schemas' | 'allowUnknownTypes'>,
  envelope: Envelope,
): Envelope {
  const schemas = options.schemas;
  // Tombstones carry no data: there is nothing to validate or to version.
  if (!schemas || envelope.eventkind === 'tombstone') return envelope;
  if (options.allowUnknownTypes && schemas.versions(envelope.type).length === 0) return envelope;
  const stamped = {
    ...envelope,
    schemaversion: envelope.schemaversion ?? schemas.latest(envelope.type)?.version,
  };
  const issues = schemas.validate(stamped);
  if (issues.length > 0) throw invalidEvent(stamped, issues);
  return stamped;
}

/**
 * The envelopes as they go into the outbox, or as they were when no option is set. Validation
 * of every event comes first, so a refused one leaves nothing behind in the claim-check store.
 */
export async function prepareForAppend(
  options: ProducerSchemaOptions,
  tx: Sql,
  envelopes: readonly Envelope[],
): Promise<readonly Envelope[]> {
  const validated = envelopes.map((envelope) => validateForAppend(options, envelope));
  if (!options.claimCheck) return validated;
  const out: Envelope[] = [];
  for (const envelope of validated) out.push(await options.claimCheck.checkIn(tx, envelope));
  return out;
}

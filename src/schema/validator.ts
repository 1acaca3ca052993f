import { TidemarkError } from '../errors.js';
import type { SchemaSet, SchemaTarget } from './schema-set.js';

/**
 * A hook for producers and consumers: returns when the event's data matches its schema,
 * throws otherwise. Synchronous, over schemas compiled in memory.
 * @throws TidemarkError `TM_SCHEMA_INVALID_EVENT` (with `context.issues`) or `TM_SCHEMA_UNKNOWN_VERSION`.
 */
export type EventValidator = (envelope: SchemaTarget) => void;

export interface EventValidatorOptions {
  /**
   * Let events of types without any schema pass (default false: refused with
   * `TM_SCHEMA_UNKNOWN_VERSION`). Versions of known types are always checked.
   */
  readonly allowUnknownTypes?: boolean;
}

/** The `TM_SCHEMA_INVALID_EVENT` error listing every issue of one event. */
export function invalidEvent(envelope: SchemaTarget, issues: readonly { message: string }[]): TidemarkError {
  const event =
    envelope.id === undefined ? `event of type ${envelope.type}` : `event ${envelope.id} (${envelope.type})`;
  return new TidemarkError(
    'TM_SCHEMA_INVALID_EVENT',
    `${event} does not match schema version ${envelope.schemaversion}: ${issues.map((i) => i.message).join('; ')}`,
    {
      context: {
        eventId: envelope.id,
        type: envelope.type,
        schemaVersion: envelope.schemaversion,
        issues,
      },
    },
  );
}

/** Builds the validation hook over a schema set (see {@link EventValidator}). */
export function createEventValidator(
  schemas: SchemaSet,
  options: EventValidatorOptions = {},
): EventValidator {
  return (envelope) => {
    if (options.allowUnknownTypes && schemas.versions(envelope.type).length === 0) return;
    const issues = schemas.validate(envelope);
    if (issues.length > 0) throw invalidEvent(envelope, issues);
  };
}

/**
 * What happens to an event between its delivery and the consumer's handler: the claim-checked
 * payload is fetched and verified, the data validated against its schema version, lifted to
 * the latest version, and cut down to the fields this consumer may see. It runs inside the
 * apply transaction, so an event that fails any step is retried or dead-lettered with the
 * reason like any handler failure, and never partly applied.
 */
import type { Envelope } from '../envelope/types.js';
import { TidemarkError } from '../errors.js';
import { isRepairEvent, stateEventType } from '../reconcile/repair-type.js';
import { claimReferenceOf } from '../schema/claim-check/attributes.js';
import type { ClaimCheckStore } from '../schema/claim-check/store.js';
import { allowListFor, minimizeEnvelope, withheldPii, type FieldPolicy } from '../schema/minimize.js';
import type { SchemaSet } from '../schema/schema-set.js';
import type { Upcasters } from '../schema/upcast.js';
import { createEventValidator, invalidEvent, type EventValidator } from '../schema/validator.js';
import type { Sql } from '../store/db.js';
import { minimizedAttribute } from '../relay/minimized.js';
import type { SchemaIssue } from '../schema/types.js';
import type { EntityHandler } from './types.js';

export interface ReceiveOptions {
  /**
   * Validate every event against the schema of its type and `schemaversion` before the
   * handler sees it; an invalid event (`TM_SCHEMA_INVALID_EVENT`) or an unknown version
   * (`TM_SCHEMA_UNKNOWN_VERSION`) is dead-lettered with the reason. The schemas' `x-pii`
   * tags also decide which fields are withheld (see `fields`).
   */
  readonly schemas?: SchemaSet;
  /** A validation hook to use instead of the schemas' own, e.g. `await registry.validator()`. */
  readonly validate?: EventValidator;
  /** Let events of types without any schema pass unvalidated (default false). */
  readonly allowUnknownTypes?: boolean;
  /** Lift events to their type's latest version after validation, so handlers see one shape. */
  readonly upcasters?: Upcasters;
  /**
   * Field allow-lists by event type or entity type (`{ customer: ['name', 'address.city'] }`):
   * handlers get only these fields. PII-tagged fields reach a handler only when named here.
   */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
  /** Where claim-checked payloads are fetched from (the producer's claim-check store). */
  readonly claimCheck?: ClaimCheckStore;
}

/**
 * The event as this consumer's handler gets it.
 * @throws TidemarkError (not retryable) when the event fails a step: `TM_CLAIM_CHECK_MISSING`,
 *   `TM_CLAIM_CHECK_MISMATCH`, `TM_SCHEMA_INVALID_EVENT`, `TM_SCHEMA_UNKNOWN_VERSION`,
 *   `TM_SCHEMA_UPCAST_FAILED`.
 */
export function createReceiver(options: ReceiveOptions): (tx: Sql, envelope: Envelope) => Promise<Envelope> {
  const validate =
    options.validate ??
    (options.schemas
      ? createEventValidator(options.schemas, { allowUnknownTypes: options.allowUnknownTypes ?? false })
      : undefined);
  const minimize = options.fields !== undefined || options.schemas !== undefined;
  const policy = { fields: options.fields, schemas: options.schemas };
  return async (tx, received) => {
    let envelope = received;
    if (options.claimCheck) envelope = await options.claimCheck.resolve(tx, envelope);
    else if (claimReferenceOf(envelope)) {
      throw new TidemarkError(
        'TM_CLAIM_CHECK_MISSING',
        `event ${envelope.id} (${envelope.type}) is claim-checked, but this consumer has no claim-check store; ` +
          'set receive.claimCheck to the producer’s store (createClaimCheckStore)',
        { context: { eventId: envelope.id, type: envelope.type } },
      );
    }
    if (isRepairEvent(envelope)) {
      validateRepair(options.schemas, envelope);
      return minimize ? minimizeEnvelope(policy, envelope) : envelope;
    }
    if (validate) {
      if (isMinimizedCopy(envelope))
        validateMinimized(validate, envelope, options.fields ? policy : undefined);
      else validate(envelope);
    }
    if (options.upcasters) envelope = options.upcasters.upcast(envelope);
    return minimize ? minimizeEnvelope(policy, envelope) : envelope;
  };
}

/** A copy the relay cut down for one consumer's channel (src/relay/audiences.ts). */
function isMinimizedCopy(envelope: Envelope): boolean {
  return typeof (envelope as unknown as Record<string, unknown>)[minimizedAttribute] === 'string';
}

/** Rules a minimized copy breaks by design: the fields its consumer may not see are gone. */
const absenceRules = new Set(['required', 'dependentRequired', 'minProperties']);

const under = (path: string, entry: string) => path === entry || path.startsWith(`${entry}.`);

/**
 * Whether the consumer's own list says it receives `path` (`lines[2].amount` reads as
 * `lines.amount`), so a required field missing there is missing for real.
 */
function receivedField(policy: FieldPolicy, envelope: Envelope, path: string): boolean {
  const allowed = allowListFor(policy, envelope);
  if (!allowed) return false;
  const dotted = path.replace(/\[\d*\]/g, '');
  return (
    allowed.some((entry) => under(dotted, entry)) &&
    !withheldPii(policy, envelope).some((pii) => under(dotted, pii))
  );
}

/**
 * Validates a minimized copy: every field it carries must match the schema, but a field the
 * allow-list removed is not missing. With `receive.fields` (e.g. `receiveFieldsOf(topology, name)`),
 * a required field the list allows must still be there. Any other issue dead-letters the event.
 */
function validateMinimized(
  validate: EventValidator,
  envelope: Envelope,
  policy: FieldPolicy | undefined,
): void {
  try {
    validate(envelope);
  } catch (error) {
    if (!(error instanceof TidemarkError) || error.code !== 'TM_SCHEMA_INVALID_EVENT') throw error;
    const issues = (error.context.issues ?? []) as readonly SchemaIssue[];
    const remaining = issues.filter(
      (issue) =>
        !absenceRules.has(issue.rule) ||
        (issue.rule === 'required' && policy !== undefined && receivedField(policy, envelope, issue.path)),
    );
    if (remaining.length > 0) throw invalidEvent(envelope, remaining);
  }
}

/**
 * A reconciliation repair carries the authority's current state of the entity, read from the
 * authority, not an event with a schema version of its own. Its data is validated against the
 * entity's state schema (the latest version of `<entityType>.state`, the type of its state
 * events) when there is one; otherwise it passes, as the authority's own state. A tombstone carries no data.
 */
function validateRepair(schemas: SchemaSet | undefined, envelope: Envelope): void {
  if (!schemas || envelope.eventkind === 'tombstone') return;
  const state = schemas.latest(stateEventType(envelope.entitytype));
  if (!state) return;
  const target = { ...envelope, type: state.type, schemaversion: state.version };
  const issues = schemas.validate(target);
  if (issues.length > 0) throw invalidEvent(target, issues);
}

/** `handlers` with {@link createReceiver}'s steps in front of each; the handlers themselves when none is set. */
export function receivingHandlers<H extends Readonly<Record<string, EntityHandler<any>>>>( // eslint-disable-line @typescript-eslint/no-explicit-any
  handlers: H,
  options: ReceiveOptions | undefined,
): H {
  if (!options) return handlers;
  const receive = createReceiver(options);
  const wrapped: Record<string, EntityHandler<unknown>> = {};
  for (const [type, handler] of Object.entries(handlers)) {
    wrapped[type] = {
      ...handler,
      apply: async (tx, event, context) => handler.apply(tx, await receive(tx, event), context),
    };
  }
  return wrapped as unknown as H;
}

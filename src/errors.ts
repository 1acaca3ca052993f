/**
 * Every error Tidemark raises on purpose has a stable code from this table.
 * Codes are never reused once retired; `docs/errors.md` documents each one and a
 * test keeps the two in step.
 */
export const errorCodes = {
  TM_ENVELOPE_INVALID: { status: 400, retryable: false, title: 'Invalid event envelope' },
  TM_CONCURRENCY_CONFLICT: { status: 409, retryable: true, title: 'Entity version conflict' },
  TM_NOT_AUTHORITY: {
    status: 403,
    retryable: false,
    title: 'Context is not the authority for this entity type',
  },
  TM_UNKNOWN_ENTITY_TYPE: { status: 422, retryable: false, title: 'Unknown entity type' },
  /** A topology file (`tidemark.yaml`) has errors; `context.errors` lists each with file, line and column. */
  TM_TOPOLOGY_INVALID: { status: 422, retryable: false, title: 'Invalid topology file' },
  /** The topology file to read does not exist. */
  TM_TOPOLOGY_NOT_FOUND: { status: 404, retryable: false, title: 'Topology file not found' },
  /** `tidemark init` would overwrite an existing file and `--force` was not given. */
  TM_TOPOLOGY_EXISTS: { status: 409, retryable: false, title: 'Topology file already exists' },
  /** A business decision asked of the topology is not declared in it. */
  TM_UNKNOWN_DECISION: { status: 404, retryable: false, title: 'Unknown business decision' },
  TM_INVALID_IDENTIFIER: { status: 400, retryable: false, title: 'Invalid SQL identifier in configuration' },
  TM_INVALID_ARGUMENT: { status: 400, retryable: false, title: 'Invalid argument' },
  TM_INBOX_ID_CONFLICT: {
    status: 409,
    retryable: false,
    title: 'Event id reused with different content',
  },
  TM_NO_HANDLER: { status: 422, retryable: false, title: 'No handler for entity type' },
  TM_HANDLER_FAILED: { status: 500, retryable: true, title: 'Consumer handler failed' },
  TM_SERVICE_UNREACHABLE: { status: 503, retryable: true, title: 'Service unreachable' },
  TM_MIGRATION_FAILED: { status: 500, retryable: false, title: 'Schema migration failed' },
  TM_CLOSED: { status: 503, retryable: false, title: 'Component is closed' },
  TM_DLQ_NOT_FOUND: { status: 404, retryable: false, title: 'No such dead letter' },
  TM_DLQ_STATE: {
    status: 409,
    retryable: false,
    title: 'Dead letter is not in a state that allows this action',
  },
  TM_PARKED: {
    status: 409,
    retryable: false,
    title: 'Event parked behind an earlier dead letter of its key',
  },
  TM_UNEXPECTED: { status: 500, retryable: false, title: 'Unexpected internal error' },
  /**
   * A broker resource (a NATS JetStream stream or KV bucket) exists with a configuration that
   * disagrees with the one configured; Tidemark never changes it, since changing e.g. the
   * partition subjects of a live stream would break per-key order.
   */
  TM_STREAM_MISMATCH: {
    status: 409,
    retryable: false,
    title: 'Existing stream configuration disagrees with the configured one',
  },
  /** The authority's read API has no entity of that type and id (or serves no such type). */
  TM_ENTITY_NOT_FOUND: { status: 404, retryable: false, title: 'Entity not found at the authority' },
  /** The authority is at an older version than the caller's `minVersion`; it may catch up. */
  TM_VERSION_NOT_REACHED: {
    status: 409,
    retryable: true,
    title: 'Authority has not reached the requested version',
  },
  /** A caller of the read API named no consumer, or one without an allow-list for the type. */
  TM_CONSUMER_NOT_ALLOWED: {
    status: 403,
    retryable: false,
    title: 'Consumer not allowed to read this entity type',
  },
  /** The pull client could not get an answer: network, timeout, 5xx, open breaker, full bulkhead. */
  TM_AUTHORITY_UNAVAILABLE: { status: 503, retryable: true, title: 'Authority unavailable' },
  /** The authority answered with something that is not a valid read-API answer. */
  TM_AUTHORITY_BAD_RESPONSE: {
    status: 502,
    retryable: false,
    title: 'Authority answered with an invalid response',
  },
  /** An event's JSON is larger than the producer's `maxEventBytes`; nothing was appended. */
  TM_EVENT_TOO_LARGE: { status: 413, retryable: false, title: 'Event too large' },
  /** A JSON Schema for an event type does not parse or compile (bad JSON, unknown keyword or format, wrong `$schema`). */
  TM_SCHEMA_INVALID: { status: 400, retryable: false, title: 'Invalid event schema' },
  /** An event's data does not match the schema of its type and `schemaversion`; `context.issues` lists each. */
  TM_SCHEMA_INVALID_EVENT: {
    status: 422,
    retryable: false,
    title: 'Event data does not match its schema',
  },
  /** No schema is registered for the event's type and `schemaversion` (or it carries no `schemaversion`). */
  TM_SCHEMA_UNKNOWN_VERSION: { status: 422, retryable: false, title: 'Unknown event schema version' },
  /** A new schema version breaks the type's compatibility mode; `context.changes` lists each breaking change. */
  TM_SCHEMA_INCOMPATIBLE: {
    status: 409,
    retryable: false,
    title: 'Schema version breaks compatibility',
  },
  /** A schema version is already registered with different content; registered versions never change. */
  TM_SCHEMA_VERSION_EXISTS: {
    status: 409,
    retryable: false,
    title: 'Schema version already registered with other content',
  },
  /** Lifting an event to the latest schema version failed: an upcaster is missing or threw. */
  TM_SCHEMA_UPCAST_FAILED: { status: 500, retryable: false, title: 'Upcasting an event failed' },
  /** A claim-checked event's payload is not in the claim-check store (purged, never written) or its reference is malformed. */
  TM_CLAIM_CHECK_MISSING: { status: 422, retryable: false, title: 'Claim-checked payload not found' },
  /** A claim-checked event's stored payload does not hash to the digest the event carries (or it carries none). */
  TM_CLAIM_CHECK_MISMATCH: { status: 422, retryable: false, title: 'Claim-checked payload digest mismatch' },
  /** A control-plane request carried no bearer token, or one that matches no configured token. */
  TM_UNAUTHENTICATED: { status: 401, retryable: false, title: 'Missing or unknown bearer token' },
  /** The token is valid but its role may not do this (a viewer asking for an operator action). */
  TM_FORBIDDEN: { status: 403, retryable: false, title: 'Token role does not allow this action' },
  /** A control-plane request is malformed: bad JSON, or parameters/body not matching the endpoint's schema. */
  TM_REQUEST_INVALID: { status: 400, retryable: false, title: 'Request does not match the endpoint' },
  /** A control-plane request body is larger than the server's body limit. */
  TM_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, title: 'Request body too large' },
  /** A control-plane request body is not JSON. */
  TM_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, title: 'Request body must be JSON' },
  /** No control-plane endpoint has this method and path. */
  TM_ROUTE_NOT_FOUND: { status: 404, retryable: false, title: 'No such endpoint' },
  /** The control plane serves no consumer of that name. */
  TM_UNKNOWN_CONSUMER: { status: 404, retryable: false, title: 'Unknown consumer' },
  /** There is no operation request (replay, rebuild) with that id. */
  TM_OPERATION_NOT_FOUND: { status: 404, retryable: false, title: 'No such operation request' },
  /** There is no reconciliation run or exception with that id in the consumer's store. */
  TM_RECON_RECORD_NOT_FOUND: {
    status: 404,
    retryable: false,
    title: 'No such reconciliation run or exception',
  },
  /** The CDC source database does not run with `wal_level = logical`, so it has no logical replication. */
  TM_CDC_WAL_LEVEL: { status: 503, retryable: false, title: 'Source database wal_level is not logical' },
  /** The CDC source role may not replicate (no REPLICATION attribute) or may not read a captured table. */
  TM_CDC_PRIVILEGE: { status: 403, retryable: false, title: 'Source role lacks replication privilege' },
  /** A capture has a checkpoint but its replication slot is gone: changes since the checkpoint are lost. */
  TM_CDC_SLOT_MISSING: { status: 409, retryable: false, title: 'Replication slot of the capture is missing' },
  /** A captured table cannot be captured: missing table, or no primary key / replica identity. */
  TM_CDC_TABLE_UNUSABLE: { status: 422, retryable: false, title: 'Captured table cannot be captured' },
  /** A translator rejected a legacy row change (threw, or returned an invalid event); the change is dead-lettered. */
  TM_CDC_TRANSLATION_FAILED: { status: 422, retryable: false, title: 'Translator rejected a row change' },
  /** A Debezium-format change event is malformed (envelope, op, source or key missing or wrong). */
  TM_CDC_EVENT_INVALID: { status: 400, retryable: false, title: 'Malformed change event' },
  /** The replication stream of a capture failed (connection lost, server error); the capture stopped. */
  TM_CDC_STREAM_FAILED: { status: 503, retryable: true, title: 'Replication stream failed' },
  /** A reconciliation names a flow the topology (or the digest store) does not have. */
  TM_RECON_UNKNOWN_FLOW: { status: 404, retryable: false, title: 'Unknown flow to reconcile' },
  /** The replica's digests do not describe what the authority's do (entity type or fields), or its schema lacks the reconcile tables. */
  TM_RECON_SCHEMA_MISMATCH: {
    status: 409,
    retryable: false,
    title: 'Replica does not match the authority it is compared with',
  },
  /** Another reconciliation run of the same flow is alive (it sent a heartbeat recently). */
  TM_RECON_RUN_ACTIVE: {
    status: 409,
    retryable: true,
    title: 'A reconciliation run of this flow is in progress',
  },
  /** A broker refused the credentials, the vhost, or the permission to declare/use a resource. */
  TM_BACKBONE_ACCESS_DENIED: { status: 403, retryable: false, title: 'Broker refused access' },
  /** A broker dead-lettered an event (delivery limit, TTL or length policy) before a handler took it. */
  TM_BROKER_DEAD_LETTERED: { status: 422, retryable: false, title: 'Event dead-lettered by the broker' },
  /** An inbound webhook's signature is missing, malformed, outside the replay window, or wrong. */
  TM_WEBHOOK_SIGNATURE_INVALID: { status: 401, retryable: false, title: 'Webhook signature refused' },
  /** A webhook subscriber did not answer 2xx for an event after every try of a batch. */
  TM_WEBHOOK_DELIVERY_FAILED: { status: 502, retryable: true, title: 'Webhook delivery failed' },
  /** A webhook subscriber was disabled after repeated failures; an operator re-enables it. */
  TM_WEBHOOK_SUBSCRIBER_DISABLED: { status: 503, retryable: false, title: 'Webhook subscriber disabled' },
  /** `waitFor` (or a long-poll) ran out of time before the ledger showed the stage or readiness. */
  TM_WAIT_TIMEOUT: { status: 504, retryable: true, title: 'Ledger wait timed out' },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface TidemarkErrorOptions {
  cause?: unknown;
  /** Values that explain the error; logged and shown in problem+json `context`. */
  context?: Record<string, unknown>;
  retryable?: boolean;
}

/** The single error class of the library; `code` says which row of {@link errorCodes} applies. */
export class TidemarkError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;
  readonly retryable: boolean;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options: TidemarkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TidemarkError';
    this.code = code;
    this.context = Object.freeze({ ...(options.context ?? {}) });
    this.retryable = options.retryable ?? errorCodes[code].retryable;
    this.status = errorCodes[code].status;
  }
}

export function isTidemarkError(err: unknown, code?: ErrorCode): err is TidemarkError {
  return err instanceof TidemarkError && (code === undefined || err.code === code);
}

/** Raised by `append` when `expectedVersion` does not match the stored version. */
export class ConcurrencyError extends TidemarkError {
  readonly entityType: string;
  readonly entityId: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;

  constructor(entityType: string, entityId: string, expectedVersion: number, actualVersion: number) {
    super(
      'TM_CONCURRENCY_CONFLICT',
      `${entityType} '${entityId}' is at version ${actualVersion}, but the append expected version ${expectedVersion}; ` +
        're-read the entity and retry with the current version',
      { context: { entityType, entityId, expectedVersion, actualVersion } },
    );
    this.name = 'ConcurrencyError';
    this.entityType = entityType;
    this.entityId = entityId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** Raised when a context writes an entity type that another context owns (single-writer rule). */
export class NotAuthorityError extends TidemarkError {
  readonly entityType: string;
  readonly owner: string;

  constructor(entityType: string, writer: string, owner: string) {
    super(
      'TM_NOT_AUTHORITY',
      `context '${writer}' may not write '${entityType}': its authority is '${owner}'; ` +
        `send the change to '${owner}' instead`,
      { context: { entityType, writer, owner } },
    );
    this.name = 'NotAuthorityError';
    this.entityType = entityType;
    this.owner = owner;
  }
}

export class UnknownEntityTypeError extends TidemarkError {
  constructor(entityType: string, known: readonly string[]) {
    super(
      'TM_UNKNOWN_ENTITY_TYPE',
      `entity type '${entityType}' has no registered authority (known: ${known.length ? known.join(', ') : 'none'}); ` +
        'register it with registerAuthority(db, { entityType, context })',
      { context: { entityType, known } },
    );
    this.name = 'UnknownEntityTypeError';
  }
}

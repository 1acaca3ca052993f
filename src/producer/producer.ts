import { randomUUID } from 'node:crypto';
import { appendTraceparent } from '../obs/tracing.js';
import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { createEnvelope } from '../envelope/create.js';
import type { EventKind } from '../envelope/types.js';
import { ConcurrencyError, NotAuthorityError, TidemarkError, UnknownEntityTypeError } from '../errors.js';
import { loadAuthorities } from './authorities.js';
import { outboxChannel } from './channel.js';
import { appendStatements } from './sql.js';
import { prepareForAppend, type ProducerSchemaOptions } from './validate-before-append.js';

export interface ProducerOptions {
  /** The context this producer writes for; must be the registered authority of what it appends. */
  readonly context: string;
  /** Schema holding Tidemark's tables (default `tidemark`). */
  readonly schema?: string;
  /**
   * How appends wake relays. PostgreSQL serialises the commits of every transaction that sent a
   * NOTIFY (a cluster-wide lock held through the commit's WAL flush), so a notification per
   * append halves throughput with a few concurrent writers. Default `{ minIntervalMs: 20 }`:
   * at most one append per 20 ms sends one; a relay that just found rows polls quickly for a
   * while (`hotPollMs`), so the appends in between are picked up as fast. `true`: every append
   * notifies (lowest latency for sparse traffic, serialised commits). `false`: never; relays
   * find rows by polling only.
   */
  readonly notify?: boolean | { readonly minIntervalMs: number };
  /** Validate events against their schemas and claim-check large payloads before append (docs/schema.md). */
  readonly payloads?: ProducerSchemaOptions;
  /**
   * The largest event (its JSON, in bytes) `append` accepts (default 1,000,000: under NATS'
   * default 1 MiB message limit). A larger event is refused before it reaches the outbox, where
   * a backbone that cannot carry it would hold the relay back; use a claim check
   * (`payloads.claimCheck`) for large payloads.
   */
  readonly maxEventBytes?: number;
}

export interface EntityRef {
  readonly type: string;
  readonly id: string;
}

export interface EventInput<TData = unknown> {
  readonly kind: EventKind;
  /** Required for domain events (`AddressChanged`); defaults to `<type>.state` etc. otherwise. */
  readonly type?: string;
  readonly data?: TData;
}

export interface AppendOptions {
  /**
   * Optimistic concurrency: the version the caller read. `0` means "the entity must be new".
   * Omit to append whatever the current version is.
   */
  readonly expectedVersion?: number;
  /**
   * Caller-versioned mode: the entity's new version, kept by the caller (e.g. the aggregate's
   * own version column, updated in the same transaction with its own optimistic check).
   * Tidemark then keeps no version row of its own, which saves one row write per change.
   * Use one mode per entity type: versions must still grow by exactly one per change.
   */
  readonly version?: number;
  readonly id?: string;
  readonly partitionKey?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly effectiveTime?: Date | string;
  readonly traceparent?: string;
  readonly schemaVersion?: number;
}

export interface AppendResult {
  /** Id of the first (usually only) event appended. */
  readonly eventId: string;
  /** Ids of all events appended, in the order given. */
  readonly eventIds: readonly string[];
  /** The entity's new version, shared by every event of this append. */
  readonly version: number;
  /** Outbox position of the first event. */
  readonly position: number;
}

export interface Producer {
  readonly context: string;
  /**
   * Records one change of `entity` inside the caller's transaction `tx`: the entity's version
   * grows by one and the event(s) go to the outbox, all of which exist if and only if that
   * transaction commits. Pass several events (at most one per kind) to describe the same change
   * to consumers of different strategies, e.g. an `AddressChanged` domain event for one and
   * the new full state for another; they share the new version.
   * @throws ConcurrencyError when `expectedVersion` is not the stored version.
   * @throws NotAuthorityError when this context does not own `entity.type`.
   * @throws UnknownEntityTypeError when no context owns `entity.type`.
   */
  append<TData>(
    tx: Sql,
    entity: EntityRef,
    event: EventInput<TData> | readonly EventInput<TData>[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** Forgets cached ownership, e.g. after the topology changed. */
  refreshAuthorities(): void;
}

function checkEventList(events: readonly EventInput[], options: AppendOptions): void {
  if (events.length === 0) {
    throw new TidemarkError('TM_INVALID_ARGUMENT', 'append needs at least one event; got an empty list');
  }
  const kinds = events.map((e) => e.kind);
  const repeated = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (repeated) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `append got two '${repeated}' events for one change; one change is one version, so give at most one ` +
        'event per kind (append twice for two changes)',
      { context: { kinds } },
    );
  }
  if (options.version !== undefined) {
    if (!(Number.isSafeInteger(options.version) && options.version >= 1)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `version must be the entity's new version, an integer of at least 1, got ${JSON.stringify(options.version)}`,
      );
    }
    if (options.expectedVersion !== undefined) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        'give either version (you keep the versions) or expectedVersion (Tidemark keeps them), not both',
      );
    }
  }
  if (options.id !== undefined && events.length > 1) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'the id option names a single event; omit it when appending several',
    );
  }
}

/** The placeholder version used to validate an envelope before the real version is known. */
const VALIDATION_VERSION = 1;

/** Milliseconds between notifying appends; 0 for every append, undefined for never. */
function notifyInterval(option: ProducerOptions['notify']): number | undefined {
  if (option === false) return undefined;
  if (option === true) return 0;
  const ms = option?.minIntervalMs ?? 20;
  if (!(Number.isFinite(ms) && ms >= 0)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `notify.minIntervalMs must be a number of milliseconds of at least 0, got ${JSON.stringify(ms)}`,
    );
  }
  return ms;
}

export function createProducer(options: ProducerOptions): Producer {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  const notifyEveryMs = notifyInterval(options.notify);
  let lastNotifyAt = Number.NEGATIVE_INFINITY;
  /** Whether this append carries the wake-up: the first one after the interval does. */
  const notifyNow = (): boolean => {
    if (notifyEveryMs === undefined) return false;
    const now = performance.now();
    if (now - lastNotifyAt < notifyEveryMs) return false;
    lastNotifyAt = now;
    return true;
  };
  const maxEventBytes = options.maxEventBytes ?? 1_000_000;
  const channel = outboxChannel(schema);
  let owners: Map<string, string> | undefined;

  const notifying = appendStatements(s, channel, true);
  const quiet = appendStatements(s, channel, false);

  async function checkOwnership(tx: Sql, entityType: string): Promise<void> {
    owners ??= await loadAuthorities(tx, schema);
    if (!owners.has(entityType)) owners = await loadAuthorities(tx, schema);
    const owner = owners.get(entityType);
    if (owner === undefined) throw new UnknownEntityTypeError(entityType, [...owners.keys()].sort());
    if (owner !== options.context) throw new NotAuthorityError(entityType, options.context, owner);
  }

  return {
    context: options.context,
    refreshAuthorities() {
      owners = undefined;
    },
    async append(tx, entity, event, appendOptions = {}) {
      const expected = appendOptions.expectedVersion;
      if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `expectedVersion must be a non-negative integer (0 for a new entity), got ${JSON.stringify(expected)}`,
          { context: { expectedVersion: expected } },
        );
      }
      const events: readonly EventInput[] = Array.isArray(event) ? event : [event as EventInput];
      checkEventList(events, appendOptions);
      await checkOwnership(tx, entity.type);
      const ids = events.map((_, i) => (i === 0 && appendOptions.id) || randomUUID());
      const built = events.map((e, i) =>
        createEnvelope({
          kind: e.kind,
          type: e.type,
          data: e.data,
          authority: options.context,
          entityType: entity.type,
          entityId: entity.id,
          entityVersion: VALIDATION_VERSION,
          id: ids[i],
          partitionKey: appendOptions.partitionKey,
          correlationId: appendOptions.correlationId,
          causationId: appendOptions.causationId,
          effectiveTime: appendOptions.effectiveTime,
          traceparent: appendOptions.traceparent ?? appendTraceparent(entity.type, e.type ?? e.kind),
          schemaVersion: appendOptions.schemaVersion,
        }),
      );
      const prepared = options.payloads ? await prepareForAppend(options.payloads, tx, built) : built;
      const envelopes = prepared.map((envelope) => {
        // The version is assigned by the database in the same statement; the relay adds it back.
        const { entityversion: _placeholder, ...stored } = envelope;
        const json = JSON.stringify(stored);
        const bytes = Buffer.byteLength(json);
        if (bytes > maxEventBytes) {
          throw new TidemarkError(
            'TM_EVENT_TOO_LARGE',
            `${envelope.type} for ${entity.type}/${entity.id} is ${bytes} bytes, over the limit of ${maxEventBytes}; ` +
              'store large payloads by claim check (createProducer({ payloads: { claimCheck } }), docs/schema.md) ' +
              'or raise maxEventBytes if every backbone you use carries messages that large',
            {
              context: {
                entityType: entity.type,
                entityId: entity.id,
                type: envelope.type,
                bytes,
                maxEventBytes,
              },
            },
          );
        }
        return json;
      });
      const params: unknown[] = [entity.type, entity.id, ids, envelopes];
      const { upsertAnyVersion, insertNew, insertCallerVersioned, updateExpected } = notifyNow()
        ? notifying
        : quiet;
      let text = upsertAnyVersion;
      if (appendOptions.version !== undefined) {
        text = insertCallerVersioned;
        params.push(appendOptions.version);
      } else if (expected === 0) text = insertNew;
      else if (expected !== undefined) {
        text = updateExpected;
        params.push(expected);
      }
      const result = await tx.query<{ version: number; position: number }>(text, params);
      const row = result.rows[0];
      if (!row) {
        const current = await tx.query<{ version: number }>(
          `SELECT version FROM ${s}.entity_versions WHERE entity_type = $1 AND entity_id = $2`,
          [entity.type, entity.id],
        );
        throw new ConcurrencyError(
          entity.type,
          entity.id,
          expected ?? 0,
          Number(current.rows[0]?.version ?? 0),
        );
      }
      return {
        eventId: ids[0]!,
        eventIds: ids,
        version: Number(row.version),
        position: Number(row.position),
      };
    },
  };
}

import pLimit from 'p-limit';
import type { Backbone, BackboneMessage, Subscription } from '../backbone/backbone.js';
import { contentDigest } from '../envelope/canonical.js';
import type { Envelope, EventKind } from '../envelope/types.js';
import { parseEnvelope } from '../envelope/validate.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { backoffDelay, type BackoffOptions } from '../util/backoff.js';
import { sleep } from '../util/wakeup.js';
import { decide } from './apply-rules.js';
import { consumerStatements, deadLetterStatements } from './sql.js';

export interface ApplyContext {
  /** The consumer's name (the context applying the event). */
  readonly consumer: string;
  /** Delivery attempt of the batch this event came in (1 = first). */
  readonly attempt: number;
}

/** Applies events of one entity type to the consumer's local projection. */
export interface EntityHandler<TData = unknown> {
  /**
   * Kinds of event this consumer takes for the type (its flow's strategy); others are ignored
   * without touching the database. Default: all kinds.
   */
  readonly kinds?: readonly EventKind[];
  /**
   * Writes the effect of `event` with `tx`, the consumer's open transaction. It runs once per
   * event (never for a duplicate) and in version order per entity. Throw to have it retried;
   * throw a TidemarkError with `retryable: false` to reject the event at once.
   */
  apply(tx: Sql, event: Envelope<TData>, context: ApplyContext): Promise<void>;
}

export type OutcomeKind = 'applied' | 'duplicate' | 'held' | 'ignored' | 'rejected';

export interface Outcome {
  readonly kind: OutcomeKind;
  readonly envelope: Envelope;
  /** Time from the authority accepting the change to its effect committing here (applied only). */
  readonly lagMs?: number;
  readonly reason?: string;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ConsumerOptions {
  /** The consuming context; also its consumer-group name on the backbone. */
  readonly name: string;
  /** The consumer's own database: projections, inbox and applied versions live here. */
  readonly db: Db;
  readonly backbone: Backbone;
  readonly schema?: string;
  /** Handlers by entity type; events of other types are rejected with a reason. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entity type has its own payload type
  readonly handlers: Readonly<Record<string, EntityHandler<any>>>;
  /** Entities applied at the same time within one batch (default 8). */
  readonly keyConcurrency?: number;
  /** Partitions handled at the same time (default 4). */
  readonly partitionConcurrency?: number;
  readonly batchSize?: number;
  /** In-process retries of a failing event before the batch is handed back for redelivery. */
  readonly retry?: BackoffOptions & { readonly attempts?: number };
  /** Told about every event's outcome, after its transaction committed. */
  readonly onOutcome?: (outcome: Outcome) => void;
  readonly logger?: Logger;
}

export interface Consumer {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Processes one event as if delivered by the backbone (tests, replays, tools). */
  handle(event: unknown, attempt?: number): Promise<Outcome[]>;
  /** Version of `entityType/entityId` this consumer has applied (0 if none). */
  appliedVersion(entityType: string, entityId: string): Promise<number>;
  /** Events held back waiting for a missing earlier version. */
  heldCount(): Promise<number>;
  readonly subscription: Subscription | undefined;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

export function createConsumer(options: ConsumerOptions): Consumer {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  const sql = consumerStatements(s);
  const dlq = deadLetterStatements(s);
  const { db, name } = options;
  const logger = options.logger ?? silent;
  const attempts = options.retry?.attempts ?? 3;
  const keyLimit = pLimit(options.keyConcurrency ?? 8);
  let subscription: Subscription | undefined;

  async function reject(raw: unknown, error: TidemarkError, attempt: number): Promise<Outcome> {
    const record = (raw ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    const version = typeof record.entityversion === 'number' ? record.entityversion : null;
    await db.query(dlq.insert, [
      name,
      text(record.authority) ?? '(unknown)',
      text(record.id) ?? '(none)',
      text(record.entitytype),
      text(record.entityid),
      version,
      text(record.partitionkey),
      JSON.stringify(raw ?? null),
      contentDigest(raw ?? null),
      error.code,
      error.message,
      attempt,
    ]);
    logger.error(
      { consumer: name, code: error.code, eventId: record.id, reason: error.message },
      'event rejected',
    );
    return { kind: 'rejected', envelope: raw as Envelope, reason: error.message };
  }

  async function applyOne(tx: Sql, envelope: Envelope, attempt: number): Promise<void> {
    const handler = options.handlers[envelope.entitytype] as EntityHandler | undefined;
    if (!handler) {
      throw new TidemarkError(
        'TM_NO_HANDLER',
        `consumer '${name}' has no handler for entity type '${envelope.entitytype}'; ` +
          `add one under handlers.${envelope.entitytype} or stop routing this type to '${name}'`,
        { context: { consumer: name, entityType: envelope.entitytype } },
      );
    }
    await handler.apply(tx, envelope, { consumer: name, attempt });
    await tx.query(sql.setApplied, [name, envelope.entitytype, envelope.entityid, envelope.entityversion]);
  }

  /** One event, one local transaction: inbox + effect + applied version (+ any held successors). */
  async function processOnce(envelope: Envelope, digest: string, attempt: number): Promise<Outcome[]> {
    const { authority, id, entitytype: type, entityid: entityId, entityversion: version } = envelope;
    const applied: Envelope[] = [];
    const kind = await db.transaction(async (tx) => {
      await tx.query(sql.lockEntity, [JSON.stringify([name, type, entityId])]);
      const found = (
        await tx.query<{ digest: string | null; version: number | null }>(sql.lookup, [
          name,
          authority,
          id,
          type,
          entityId,
        ])
      ).rows[0];
      if (found?.digest) {
        if (found.digest === digest) return 'duplicate' as const;
        throw new TidemarkError(
          'TM_INBOX_ID_CONFLICT',
          `event id ${id} from '${authority}' was already received with different content; ` +
            'the sender reused an id (or forged one): compare both versions before releasing it',
          { context: { consumer: name, authority, eventId: id } },
        );
      }
      const stored = Number(found?.version ?? 0);
      const decision = decide(envelope.eventkind, version, stored);
      const outcome = decision === 'apply' ? 'applied' : decision === 'gap' ? 'held' : 'duplicate';
      await tx.query(sql.inboxInsert, [name, authority, id, type, entityId, version, digest, outcome]);
      if (decision === 'gap') {
        await tx.query(sql.hold, [name, type, entityId, version, JSON.stringify(envelope)]);
        return 'held' as const;
      }
      if (decision === 'duplicate') return 'duplicate' as const;
      await applyOne(tx, envelope, attempt);
      applied.push(envelope);
      let current = version;
      if (envelope.eventkind === 'domain') {
        for (;;) {
          const next = await tx.query<{ envelope: Envelope }>(sql.takeHeld, [
            name,
            type,
            entityId,
            current + 1,
          ]);
          const held = next.rows[0]?.envelope;
          if (!held) break;
          await applyOne(tx, held, attempt);
          applied.push(held);
          current = held.entityversion;
        }
      } else {
        await tx.query(sql.dropSuperseded, [name, type, entityId, current]);
      }
      return 'applied' as const;
    });
    const now = Date.now();
    if (kind !== 'applied') return [{ kind, envelope }];
    return applied.map((e) => ({
      kind: 'applied' as const,
      envelope: e,
      lagMs: Math.max(0, now - Date.parse(e.time)),
    }));
  }

  async function handle(raw: unknown, attempt = 1): Promise<Outcome[]> {
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(raw);
    } catch (error) {
      return [await reject(raw, error as TidemarkError, attempt)];
    }
    const kinds = options.handlers[envelope.entitytype]?.kinds;
    if (kinds && !kinds.includes(envelope.eventkind)) {
      const outcome: Outcome = { kind: 'ignored', envelope };
      options.onOutcome?.(outcome);
      return [outcome];
    }
    const digest = contentDigest(envelope);
    for (let tries = 1; ; tries++) {
      try {
        const outcomes = await processOnce(envelope, digest, attempt);
        for (const outcome of outcomes) options.onOutcome?.(outcome);
        return outcomes;
      } catch (error) {
        if (isTidemarkError(error) && !error.retryable) {
          const outcome = await reject(envelope, error, attempt);
          options.onOutcome?.(outcome);
          return [outcome];
        }
        logger.warn(
          {
            consumer: name,
            eventId: envelope.id,
            entity: `${envelope.entitytype}/${envelope.entityid}`,
            tries,
            err: error,
          },
          'handler failed; retrying',
        );
        if (tries >= attempts) throw error;
        await sleep(backoffDelay(tries, options.retry));
      }
    }
  }

  async function handleBatch(messages: readonly BackboneMessage[]): Promise<void> {
    // Per key in order, keys side by side.
    const byKey = new Map<string, BackboneMessage[]>();
    for (const message of messages) {
      const key = String((message.envelope as { partitionkey?: unknown }).partitionkey);
      const list = byKey.get(key);
      if (list) list.push(message);
      else byKey.set(key, [message]);
    }
    const results = await Promise.allSettled(
      [...byKey.values()].map((list) =>
        keyLimit(async () => {
          for (const message of list) await handle(message.envelope, message.deliveryAttempt);
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  return {
    name,
    get subscription() {
      return subscription;
    },
    async start() {
      if (subscription) return;
      subscription = await options.backbone.subscribe(name, handleBatch, {
        concurrency: options.partitionConcurrency,
        batchSize: options.batchSize,
        onError: (error, info) =>
          logger.error({ consumer: name, ...info, err: error }, 'batch failed; it will be delivered again'),
      });
    },
    async stop() {
      await subscription?.stop();
      subscription = undefined;
    },
    handle,
    async appliedVersion(entityType, entityId) {
      const r = await db.query<{ version: number }>(sql.projectionVersion, [name, entityType, entityId]);
      return Number(r.rows[0]?.version ?? 0);
    },
    async heldCount() {
      return Number((await db.query<{ held: number }>(sql.heldCount, [name])).rows[0]?.held ?? 0);
    },
  };
}

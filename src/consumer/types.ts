import type { Backbone, BackboneMessage, Subscription } from '../backbone/backbone.js';
import type { Envelope, EventKind } from '../envelope/types.js';
import type { Db, Sql } from '../store/db.js';
import type { BackoffOptions } from '../util/backoff.js';
import type { LedgerSink } from '../ledger/sink.js';
import type { LedgerStage } from '../ledger/stages.js';
import type { ReceiveOptions } from './validate-on-receipt.js';
import type { GapHealingOptions } from './gap-healing.js';

export interface ApplyContext {
  /** The consumer's name (the context applying the event). */
  readonly consumer: string;
  /** Delivery attempt of the batch this event came in (1 = first). */
  readonly attempt: number;
  /**
   * The quoted, schema-qualified name to write for one of the consumer's projection tables
   * (declared in `projection.tables`). Write through it and the projection can be rebuilt:
   * during a rebuild it names the shadow table.
   */
  table(name: string): string;
  /**
   * Consumer rules: the change is stored but not yet in effect here. The ledger records the
   * waiting state instead of `applied`; record `applied` (or `rejected`) later with
   * `consumer.recordStage` when the hold ends.
   * - `hold('under-review', { reason })`: waits for a person or process.
   * - `defer(until)`: takes effect at `until` (e.g. the next billing cycle); no later action needed.
   * - `block(reason)`: waits while a condition holds (e.g. an open investigation).
   * - `reject(reason)`: this context refuses the change for good.
   */
  hold(state: string, detail?: Readonly<Record<string, unknown>>): void;
  defer(until: Date, detail?: Readonly<Record<string, unknown>>): void;
  block(reason: string, detail?: Readonly<Record<string, unknown>>): void;
  reject(reason: string, detail?: Readonly<Record<string, unknown>>): void;
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
   * throw a TidemarkError with `retryable: false` to dead-letter the event at once.
   */
  apply(tx: Sql, event: Envelope<TData>, context: ApplyContext): Promise<void>;
}

/**
 * - `applied`: the effect committed.
 * - `duplicate`: already applied (or superseded by a newer state); skipped.
 * - `held`: a domain event ahead of a missing version; applied when the gap closes.
 * - `ignored`: a kind this consumer does not take.
 * - `dead-lettered`: failed for good (retries spent or not retryable); its key is parked.
 * - `parked`: waiting behind an earlier dead letter of the same key.
 */
export type OutcomeKind = 'applied' | 'duplicate' | 'held' | 'ignored' | 'dead-lettered' | 'parked';

export interface Outcome {
  readonly kind: OutcomeKind;
  readonly envelope: Envelope;
  /** Time from the authority accepting the change to its effect committing here (applied only). */
  readonly lagMs?: number;
  /** Why an event was dead-lettered or parked. */
  readonly reason?: string;
  /** Attempts made before this outcome (dead-lettered only). */
  readonly attempts?: number;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface RetryPolicy extends BackoffOptions {
  /** Attempts before an event is dead-lettered (default 5). */
  readonly attempts?: number;
  /**
   * Whether an error is worth retrying. Default: a TidemarkError's own `retryable` flag, and
   * true for any other error (a handler's exception is presumed transient).
   */
  readonly isRetryable?: (error: unknown) => boolean;
}

export interface ConsumerOptions {
  /** The consuming context; also its consumer-group name on the backbone. */
  readonly name: string;
  /** The consumer's own database: projections, inbox, applied versions and dead letters live here. */
  readonly db: Db;
  readonly backbone: Backbone;
  readonly schema?: string;
  /** Handlers by entity type; an event of another type is dead-lettered with a reason. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entity type has its own payload type
  readonly handlers: Readonly<Record<string, EntityHandler<any>>>;
  /**
   * The tables the handlers write, in `schema` (default: the consumer's Tidemark schema).
   * Declaring them (and writing through `context.table(name)`) makes the projection rebuildable.
   */
  readonly projection?: { readonly schema?: string; readonly tables: readonly string[] };
  /** Entities applied at the same time within one batch (default 8). */
  readonly keyConcurrency?: number;
  /** Partitions handled at the same time (default 4). */
  readonly partitionConcurrency?: number;
  readonly batchSize?: number;
  readonly retry?: RetryPolicy;
  /**
   * Apply a delivered batch in one local transaction when it can (default true): one commit
   * per batch instead of per event. A batch with any failure falls back to one transaction
   * per event, with retries and dead letters, so the outcome is the same.
   */
  readonly batchApply?: boolean;
  /** How often a started consumer looks for dead letters released by an operator (default 1 s). */
  readonly repairIntervalMs?: number;
  /**
   * Where this context's maturity stages go (`delivered`, `applied`, held states), written in
   * the apply transaction. Default: the ledger table of the consumer's own schema, recorded
   * for the context named `name`. `false` records nothing (the ledger's own collector).
   */
  readonly ledger?: LedgerSink | false;
  /**
   * Steps before the handlers: claim-check resolution, schema validation, upcasting, field
   * allow-lists and PII withholding (docs/schema.md). An event failing one is dead-lettered.
   */
  readonly receive?: ReceiveOptions;
  /**
   * Heals version gaps by pull (push-domain flows): an entity whose held domain event waited
   * `afterMs` for its predecessor gets the authority's current state through `applyState`
   * (docs/pull.md, "Gap healing").
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the state's type is the caller's
  readonly gapHealing?: GapHealingOptions<any>;
  /** Told about every event's outcome, after its transaction committed. */
  readonly onOutcome?: (outcome: Outcome) => void;
  readonly logger?: Logger;
}

/** A consumer instance's work in hand, for telling a slow consumer from a stalled one. */
export interface ConsumerProgress {
  /** Delivered batches being handled now. */
  readonly batchesInHand: number;
  /** Since when it has had a batch in hand without a pause (absent when idle). */
  readonly inHandSince?: string;
  /** When an event last finished (applied, duplicate, held, ignored, dead-lettered or parked). */
  readonly lastProgressAt?: string;
  /**
   * The latest failed attempt of an event being retried now; gone once any event finishes. Says
   * why a stalled consumer is stuck when its retries keep failing.
   */
  readonly failing?: {
    readonly entity: string;
    readonly tries: number;
    readonly error: string;
    readonly at: string;
  };
}

export interface RepairResult {
  /** Dead letters whose event now took effect (or proved a duplicate). */
  readonly resolved: number;
  /** Dead letters that failed again and are the head of their key once more. */
  readonly failed: number;
}

export interface RebuildResult {
  /** Events read from history, including the catch-up inside the swap. */
  readonly replayed: number;
  /** Events applied to the new projection. */
  readonly applied: number;
  /** History position the new projection is complete up to. */
  readonly position: number;
  readonly tables: readonly string[];
}

export interface Consumer {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Processes one event as if delivered by the backbone (tests, replays, tools). */
  handle(event: unknown, attempt?: number): Promise<Outcome[]>;
  /**
   * Processes an ordered batch of one partition as the backbone hands it over (custom
   * transports, tests): the whole batch in one transaction when it can, otherwise event by
   * event with retries. Outcomes go to `onOutcome`; it rejects only when the batch must be
   * delivered again (the database failed), never for a failing event (that one is dead-lettered).
   */
  handleBatch(messages: readonly BackboneMessage[]): Promise<void>;
  /**
   * Moves the dead-letter queues an operator released (retry, skip, edit): each such key's
   * queued events are applied in order until one fails again. A started consumer does this
   * on its own; call it directly in tools and tests.
   */
  repair(): Promise<RepairResult>;
  /**
   * Rebuilds the projection from the backbone's history into shadow tables while the live ones
   * keep serving, then swaps them in one transaction. Needs `projection.tables` and a backbone
   * with history.
   */
  rebuild(options?: {
    onProgress?: (progress: { done: number; total: number }) => void;
  }): Promise<RebuildResult>;
  /** Version of `entityType/entityId` this consumer has applied (0 if none). */
  appliedVersion(entityType: string, entityId: string): Promise<number>;
  /** Events held back waiting for a missing earlier version. */
  heldCount(): Promise<number>;
  /** What this instance has in hand and when it last finished an event (stall detection). */
  progress?(): ConsumerProgress;
  /**
   * Records a later stage of a change this context already received, in the caller's
   * transaction: the end of a hold (`applied` or `rejected`), or a new waiting state.
   */
  recordStage(
    tx: Sql,
    change: {
      readonly entityType: string;
      readonly entityId: string;
      readonly version: number;
      readonly stage: LedgerStage;
      readonly detail?: Readonly<Record<string, unknown>>;
    },
  ): Promise<void>;
  readonly subscription: Subscription | undefined;
}

import type { Envelope } from '../envelope/types.js';
import type { Db, Sql } from '../store/db.js';

/** One delivered event. */
export interface BackboneMessage {
  readonly envelope: Envelope;
  readonly partition: number;
  /** Position in the partition; grows with each message of that partition. */
  readonly offset: number;
  /** 1 on the first delivery of this batch, then 2, 3, … on redeliveries. */
  readonly deliveryAttempt: number;
}

/**
 * Handles an ordered batch from ONE partition. Resolving acknowledges the whole batch;
 * rejecting acknowledges none of it, and the batch is delivered again later (from its
 * first message). Handlers must therefore tolerate redelivery; the consumer runtime
 * does, through its inbox.
 */
export type BatchHandler = (messages: readonly BackboneMessage[], partition: number) => Promise<void>;

export interface SubscribeOptions {
  /** Partitions this instance handles at the same time (default 4). Bounds in-flight work. */
  readonly concurrency?: number;
  /** Most messages in one batch (default 100). */
  readonly batchSize?: number;
  /** Told about each rejected batch before it is retried. */
  readonly onError?: (
    error: unknown,
    info: { partition: number; attempt: number; firstOffset: number },
  ) => void;
}

export interface Subscription {
  readonly group: string;
  /** This instance's id within the group. */
  readonly member: string;
  /** Partitions this instance holds right now. */
  assignedPartitions(): readonly number[];
  /** Stops taking new batches, waits for in-flight ones, and releases the partitions. */
  stop(): Promise<void>;
}

export interface PublishOptions {
  /**
   * Publish as part of this open transaction. Only for adapters whose
   * `capabilities.transactionalPublish` is true and that share the database.
   */
  readonly tx?: Sql;
}

/** What an adapter guarantees; the runtime and the contract suite read these, never the adapter's name. */
export interface BackboneCapabilities {
  /** Messages are kept until consumed (survive a restart). */
  readonly persistent: boolean;
  /** Several instances of a group share partitions, each partition held by one at a time. */
  readonly consumerGroups: boolean;
  /** Publishing the same event id twice delivers it once (within the adapter's window). */
  readonly idempotentPublish: boolean;
  /** `publish` can join a transaction of the database returned by `database`. */
  readonly transactionalPublish: boolean;
}

/** One outbox row to copy, named by its key. */
export interface OutboxRowRef {
  readonly txid: string;
  readonly position: number;
  readonly partitionKey: string;
}

/** A slice of a backbone's retained history, for replays. Positions are `BackboneMessage.offset`s. */
export interface HistoryQuery {
  /** First position to include (default: the oldest retained). */
  readonly fromPosition?: number;
  /** Start at the first message appended at or after this time (instead of `fromPosition`). */
  readonly fromTime?: Date;
  /** Last position to include (default: the newest now). */
  readonly toPosition?: number;
  /** Stop after the last message appended at or before this time. */
  readonly toTime?: Date;
  /** Only messages with these partition keys. */
  readonly keys?: readonly string[];
  /** Messages per batch (default 500). */
  readonly batchSize?: number;
  /**
   * Read through this open transaction; only for adapters whose history lives in `database`
   * (postgres-log), when the caller holds a transaction on it.
   */
  readonly tx?: Sql;
}

export interface History {
  /** Messages in the slice when it was opened. */
  readonly total: number;
  /** Position of the newest message retained when the slice was opened (0 if none). */
  readonly head: number;
  /** The slice in position order, so per-key order holds. */
  batches(): AsyncIterable<readonly BackboneMessage[]>;
}

/**
 * The notification channel between contexts.
 *
 * Contract: per partition key, messages are delivered in publish order; delivery is
 * at-least-once; a group's progress is its own (groups never affect each other).
 */
export interface Backbone {
  /** Adapter name for logs and metrics. */
  readonly name: string;
  readonly capabilities: BackboneCapabilities;
  /** Number of partitions; a key's partition is `partitionOf(partitionkey, partitions)`. */
  readonly partitions: number;
  /** The database a transactional publish must use, when `capabilities.transactionalPublish`. */
  readonly database?: Db;
  publish(batch: readonly Envelope[], options?: PublishOptions): Promise<void>;
  /**
   * Reads retained messages again, for replay and bootstrap; present on adapters that keep
   * history. Throws `TM_INVALID_ARGUMENT` for a range outside what is retained.
   */
  history?(query: HistoryQuery): Promise<History>;
  /**
   * Copies outbox rows to the log inside the database, in the given order, within `tx`; the
   * relay's fast path when the log shares the outbox's database (no envelope passes through
   * the process). Same effect as `publish` of those envelopes with their `entityversion`.
   */
  publishFromOutbox?(
    tx: Sql,
    outbox: { readonly quotedTable: string; readonly rows: readonly OutboxRowRef[] },
  ): Promise<void>;
  /** The newest position now (0 for an empty backbone); present with `history`. */
  position?(): Promise<number>;
  /**
   * Makes a group that has not consumed yet start after `position` instead of at the beginning
   * (used when bootstrapping a consumer from a snapshot). Refused for a group already running.
   */
  seek?(group: string, position: number): Promise<void>;
  subscribe(group: string, handler: BatchHandler, options?: SubscribeOptions): Promise<Subscription>;
  close(): Promise<void>;
}

import type { AppendOptions, EntityRef, EventInput } from '../producer/producer.js';

/** A row value as the source sent it: pg's default text parsers (int8 and numeric stay strings). */
export type Row = Readonly<Record<string, unknown>>;

/**
 * One change of one legacy row, the input of a translator.
 * `snapshot` is a row read by the initial snapshot (the row's state, not a change);
 * `truncate` removed every row of the table (no key, no row).
 */
export interface RowChange {
  readonly op: 'insert' | 'update' | 'delete' | 'snapshot' | 'truncate';
  /** `schema.table` as configured. */
  readonly table: string;
  /** Primary-key values by column; empty for truncate. */
  readonly key: Row;
  /** The old row: only for updates/deletes, and complete only with REPLICA IDENTITY FULL. */
  readonly before: Row | null;
  /** The new row (insert, update, snapshot). */
  readonly after: Row | null;
  /** LSN of the change (snapshot rows: of the chunk's high watermark). Part of the dedup key. */
  readonly lsn: string;
  /** Commit time of the source transaction, when known. */
  readonly committedAt?: Date;
}

/** One domain event a translator produces from a row change, appended through the producer. */
export interface TranslatedEvent {
  readonly entity: EntityRef;
  readonly event: EventInput | readonly EventInput[];
  readonly options?: AppendOptions;
  /**
   * The entity fields this event asserts, e.g. `{ addressLine1, postcode }`. Only needed when
   * source precedence is configured: an event is emitted only if its source may write each field.
   */
  readonly fields?: Readonly<Record<string, unknown>>;
}

export type TranslationResult = TranslatedEvent | readonly TranslatedEvent[] | undefined | null;

/**
 * The anti-corruption layer for one legacy table: turns its row changes into domain events of
 * the published language. Return nothing to filter a change out (only meaningful changes emit
 * events); throw to reject it (it is dead-lettered with the message as reason).
 */
export interface Translator {
  /** `schema.table` of the legacy table. */
  readonly table: string;
  /**
   * Primary-key columns, in key order. Needed only for Debezium input (a Debezium event carries
   * rows, not which columns key them); the native capture reads the key from the source.
   */
  readonly key?: readonly string[];
  translate(change: RowChange): TranslationResult | Promise<TranslationResult>;
  /**
   * Called for TRUNCATE. Without it a truncate is dead-lettered, since silently dropping it would
   * leave every consumer holding entities the legacy system no longer has.
   */
  truncate?(change: RowChange): TranslationResult | Promise<TranslationResult>;
}

/** Operational notices of a capture, for logs and tests (never needed for correctness). */
export type CaptureNotice =
  | { readonly type: 'streaming'; readonly fromLsn: string }
  | { readonly type: 'schema-changed'; readonly table: string; readonly columns: readonly string[] }
  | {
      readonly type: 'transaction';
      readonly commitLsn: string;
      readonly changes: number;
      readonly parts: number;
    }
  | { readonly type: 'snapshot-chunk'; readonly table: string; readonly rows: number; readonly done: boolean }
  | { readonly type: 'snapshot-done' }
  | { readonly type: 'rejected'; readonly table: string; readonly lsn: string; readonly reason: string }
  | { readonly type: 'stopped'; readonly error?: Error };

import { TidemarkError } from '../errors.js';
import type { Producer } from '../producer/producer.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { formatLsn, lsnValue } from './lsn.js';
import type { SourcePrecedence } from './precedence.js';
import { firstSeen, recordInvalidEvent, writeChanges, type SinkContext } from './sink.js';
import type { Row, RowChange, Translator } from './types.js';

/**
 * Debezium input: change events of Debezium's PostgreSQL connector (the `before` / `after` /
 * `source` / `op` envelope), fed through the same translators, precedence and sink as the
 * native capture, so an estate already running Debezium can feed Tidemark without a slot of
 * its own.
 */
export interface DebeziumIngestOptions {
  /** Names the input: dead letters go to consumer `cdc:<name>`, dedup rows are kept under it. */
  readonly name: string;
  /** One per table; each needs `key` (its primary-key columns), since events carry rows only. */
  readonly translators: readonly Translator[];
  readonly sink: { readonly db: Db; readonly schema?: string; readonly producer: Producer };
  readonly precedence?: SourcePrecedence;
}

export interface DebeziumIngestOutcome {
  /** Changes read and not seen before. */
  readonly changes: number;
  /** Changes already ingested (same LSN, table and key): redeliveries. */
  readonly duplicates: number;
  /** Events appended to the outbox. */
  readonly events: number;
  /** Changes the translator rejected (dead letters TM_CDC_TRANSLATION_FAILED). */
  readonly rejected: number;
  /** Events that could not be read (dead letters TM_CDC_EVENT_INVALID). */
  readonly invalid: number;
  /** Kafka tombstones (null) and heartbeats: nothing to translate. */
  readonly ignored: number;
}

export interface DebeziumIngest {
  readonly name: string;
  /**
   * Ingests a batch in one transaction: its events are in the outbox, and its malformed or
   * rejected events in the dead letters, exactly when the call resolves. At-least-once delivery
   * is fine: a change already ingested is skipped by `(lsn, table, key)`. Acknowledge the batch
   * to Debezium (commit the Kafka offset, answer the HTTP sink) only after it resolves.
   */
  ingest(events: readonly unknown[]): Promise<DebeziumIngestOutcome>;
  /**
   * Forgets dedup entries older than `before` (there is no slot checkpoint to prune them by);
   * choose a time past which Debezium can no longer redeliver, e.g. Kafka retention.
   */
  forgetSeen(before: Date): Promise<number>;
}

const operations: Readonly<Record<string, RowChange['op']>> = {
  c: 'insert',
  u: 'update',
  d: 'delete',
  r: 'snapshot',
  t: 'truncate',
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function invalid(message: string): TidemarkError {
  return new TidemarkError('TM_CDC_EVENT_INVALID', message);
}

/** Debezium's PostgreSQL connector sends the LSN as a number; accept `16/B374D848` too. */
function readLsn(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return formatLsn(BigInt(value));
  if (typeof value === 'string' && /^\d+$/.test(value)) return formatLsn(BigInt(value));
  if (typeof value === 'string' && value.includes('/')) {
    try {
      return formatLsn(lsnValue(value));
    } catch {
      // reported below
    }
  }
  throw invalid(
    `source.lsn is ${JSON.stringify(value)}; expected the WAL position Debezium's PostgreSQL connector sends (a number)`,
  );
}

function readRow(payload: Record<string, unknown>, field: 'before' | 'after', op: string): Row | null {
  const row = payload[field];
  if (row === undefined || row === null) return null;
  if (!isObject(row))
    throw invalid(
      `"${field}" of an op "${op}" event is ${JSON.stringify(row)}; expected an object of columns`,
    );
  return row;
}

/**
 * Reads one Debezium event into a row change, or `undefined` for a tombstone or heartbeat.
 * Accepts the bare payload and the JsonConverter's `{ schema, payload }` wrapping.
 * @throws TidemarkError TM_CDC_EVENT_INVALID naming what is wrong
 */
export function parseDebeziumEvent(
  event: unknown,
  keys: ReadonlyMap<string, readonly string[]>,
): RowChange | undefined {
  if (event === null) return undefined; // the tombstone Kafka compaction needs after a delete
  if (!isObject(event)) throw invalid(`a Debezium event must be a JSON object, got ${JSON.stringify(event)}`);
  const payload = isObject(event.payload) && 'schema' in event ? event.payload : event;
  if (payload.op === undefined && isObject(payload.source) && 'ts_ms' in payload && !('after' in payload)) {
    return undefined; // heartbeat
  }
  const op = operations[String(payload.op)];
  if (typeof payload.op !== 'string' || !op) {
    throw invalid(`"op" is ${JSON.stringify(payload.op)}; expected one of c, u, d, r, t`);
  }
  const source = payload.source;
  if (!isObject(source) || typeof source.schema !== 'string' || typeof source.table !== 'string') {
    throw invalid(
      `"source" must name the table as { schema, table } (Debezium's PostgreSQL connector), got ${JSON.stringify(source)}`,
    );
  }
  const table = `${source.schema}.${source.table}`;
  const keyColumns = keys.get(table);
  if (!keyColumns) {
    throw invalid(
      `no translator is configured for ${table}; add one (with its key columns), or leave the table out of Debezium's table.include.list`,
    );
  }
  const lsn = readLsn(source.lsn);
  const committedAt = typeof source.ts_ms === 'number' ? new Date(source.ts_ms) : undefined;
  const before = readRow(payload, 'before', payload.op);
  const after = readRow(payload, 'after', payload.op);
  if (op === 'truncate') return { op, table, key: {}, before: null, after: null, lsn, committedAt };
  const row = op === 'delete' ? before : after;
  if (!row) {
    const needed = op === 'delete' ? 'before' : 'after';
    throw invalid(`an op "${payload.op}" event of ${table} has no "${needed}" row`);
  }
  const key: Record<string, unknown> = {};
  for (const column of keyColumns) {
    if (row[column] === undefined || row[column] === null) {
      throw invalid(`the row of ${table} has no value for key column "${column}"`);
    }
    key[column] = row[column];
  }
  return { op, table, key, before, after, lsn, committedAt };
}

export function createDebeziumIngest(options: DebeziumIngestOptions): DebeziumIngest {
  const name = options.name;
  quoteIdentifier(name, 'Debezium input name');
  const s = quoteIdentifier(options.sink.schema ?? 'tidemark', 'schema name');
  const keys = new Map<string, readonly string[]>();
  for (const t of options.translators) {
    if (!t.key || t.key.length === 0) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `the translator for ${t.table} has no key; Debezium events carry rows only: add key: ['<primary-key column>', …]`,
        { context: { table: t.table } },
      );
    }
    keys.set(t.table, t.key);
  }
  if (keys.size === 0) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `Debezium input ${name} has no translators; give one per table`,
    );
  }
  const ctx: SinkContext = {
    capture: name,
    s,
    producer: options.sink.producer,
    translators: new Map(options.translators.map((t) => [t.table, t])),
    precedence: options.precedence,
  };
  const db = options.sink.db;
  return {
    name,
    async ingest(events) {
      if (!Array.isArray(events)) {
        throw new TidemarkError('TM_INVALID_ARGUMENT', 'ingest takes an array of Debezium events');
      }
      return db.transaction(async (tx) => {
        const changes: RowChange[] = [];
        let invalidCount = 0;
        let ignored = 0;
        for (const event of events) {
          try {
            const change = parseDebeziumEvent(event, keys);
            if (change) changes.push(change);
            else ignored += 1;
          } catch (err) {
            if (!(err instanceof TidemarkError)) throw err;
            invalidCount += 1;
            await recordInvalidEvent(tx, ctx, 'debezium', event, err.message);
          }
        }
        const fresh = await firstSeen(tx, ctx, changes);
        const outcome = await writeChanges(tx, ctx, fresh);
        return {
          changes: fresh.length,
          duplicates: changes.length - fresh.length,
          events: outcome.events,
          rejected: outcome.rejected.length,
          invalid: invalidCount,
          ignored,
        };
      });
    },
    async forgetSeen(before) {
      const { rows } = await db.query<{ n: string }>(
        `WITH gone AS (DELETE FROM ${s}.cdc_seen WHERE capture = $1 AND seen_at < $2 RETURNING 1)
         SELECT count(*)::text AS n FROM gone`,
        [name, before],
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}

import { contentDigest } from '../envelope/canonical.js';
import { isTidemarkError } from '../errors.js';
import type { Producer } from '../producer/producer.js';
import type { Sql } from '../store/db.js';
import { formatLsn, lsnValue } from './lsn.js';
import type { SourcePrecedence } from './precedence.js';
import type { RowChange, TranslatedEvent, Translator } from './types.js';

/** Where translated changes go: the Tidemark schema of the outbox, through the producer API. */
export interface SinkContext {
  readonly capture: string;
  /** The quoted Tidemark schema. */
  readonly s: string;
  readonly producer: Producer;
  readonly translators: ReadonlyMap<string, Translator>;
  readonly precedence?: SourcePrecedence;
}

export interface WriteOutcome {
  readonly events: number;
  readonly rejected: readonly { readonly change: RowChange; readonly reason: string }[];
}

/** The dedup identity of a change: `(lsn, table, key)`. */
export function changeKey(change: RowChange): string {
  return JSON.stringify(Object.values(change.key));
}

export const deadLetterConsumer = (capture: string): string => `cdc:${capture}`;

/**
 * Keeps only the changes not written before, recording them as written: the `(lsn, table,
 * key)` dedup set for work that spans several transactions before its checkpoint moves.
 */
export async function firstSeen(
  tx: Sql,
  ctx: SinkContext,
  changes: readonly RowChange[],
): Promise<RowChange[]> {
  if (changes.length === 0) return [];
  const keys = changes.map(changeKey);
  const lsns = changes.map((c) => formatLsn(lsnValue(c.lsn)));
  const { rows } = await tx.query<{ lsn: string; table_name: string; row_key: string }>(
    `INSERT INTO ${ctx.s}.cdc_seen (capture, lsn, table_name, row_key)
     SELECT $1, l::pg_lsn, t, k FROM unnest($2::text[], $3::text[], $4::text[]) AS u(l, t, k)
     ON CONFLICT DO NOTHING
     RETURNING lsn::text AS lsn, table_name, row_key`,
    [ctx.capture, lsns, changes.map((c) => c.table), keys],
  );
  const fresh = new Set(rows.map((r) => `${formatLsn(lsnValue(r.lsn))}|${r.table_name}|${r.row_key}`));
  // delete() as each is taken: a change delivered twice in one batch is kept once.
  return changes.filter((c, i) => fresh.delete(`${lsns[i]}|${c.table}|${keys[i]}`));
}

function normalise(result: unknown): TranslatedEvent[] {
  if (result === undefined || result === null) return [];
  const list = Array.isArray(result) ? result : [result];
  for (const item of list as unknown[]) {
    const candidate = item as Partial<TranslatedEvent> | null;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate.entity?.type !== 'string' ||
      typeof candidate.entity.id !== 'string' ||
      typeof candidate.event !== 'object' ||
      candidate.event === null
    ) {
      throw new Error(
        `the translator returned ${JSON.stringify(item)}; return { entity: { type, id }, event: { kind, type, data } } ` +
          'objects (or nothing to filter the change out)',
      );
    }
  }
  return list as TranslatedEvent[];
}

async function recordRejection(tx: Sql, ctx: SinkContext, change: RowChange, err: unknown): Promise<string> {
  const reason = isTidemarkError(err)
    ? `${err.code}: ${err.message}`
    : `translator for ${change.table} failed on ${change.op} of key ${changeKey(change)}: ${(err as Error)?.message ?? String(err)}`;
  const payload = { source: 'cdc', capture: ctx.capture, change };
  await tx.query(
    `INSERT INTO ${ctx.s}.dead_letters
       (consumer, authority, event_id, partition_key, envelope, digest, status, code, reason, stack, attempts)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'open', 'TM_CDC_TRANSLATION_FAILED', $7, $8, 1)
     ON CONFLICT (consumer, authority, event_id) WHERE status IN ('open', 'retry', 'parked') DO NOTHING`,
    [
      deadLetterConsumer(ctx.capture),
      ctx.producer.context,
      `${change.lsn}/${change.table}/${changeKey(change)}`,
      `${change.table}:${changeKey(change)}`,
      JSON.stringify(payload),
      contentDigest(payload),
      reason,
      (err as Error)?.stack ?? null,
    ],
  );
  return reason;
}

/**
 * Records an incoming change event that could not be read (code TM_CDC_EVENT_INVALID) as a dead
 * letter with the reason, in the caller's transaction. Keyed by the event's digest, so a
 * redelivered copy adds nothing while the first is unresolved.
 */
export async function recordInvalidEvent(
  tx: Sql,
  ctx: Pick<SinkContext, 'capture' | 's' | 'producer'>,
  source: string,
  event: unknown,
  reason: string,
): Promise<void> {
  const payload = { source, capture: ctx.capture, event: event === undefined ? null : event };
  const digest = contentDigest(payload);
  await tx.query(
    `INSERT INTO ${ctx.s}.dead_letters
       (consumer, authority, event_id, partition_key, envelope, digest, status, code, reason, attempts)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'open', 'TM_CDC_EVENT_INVALID', $7, 1)
     ON CONFLICT (consumer, authority, event_id) WHERE status IN ('open', 'retry', 'parked') DO NOTHING`,
    [
      deadLetterConsumer(ctx.capture),
      ctx.producer.context,
      `invalid/${digest}`,
      `${source}:invalid`,
      JSON.stringify(payload),
      digest,
      reason,
    ],
  );
}

async function translate(ctx: SinkContext, change: RowChange): Promise<unknown> {
  const translator = ctx.translators.get(change.table);
  if (!translator) throw new Error(`no translator is configured for ${change.table}`);
  if (change.op !== 'truncate') return translator.translate(change);
  if (!translator.truncate) {
    throw new Error(
      `TRUNCATE of ${change.table} removed every row, and its translator has no truncate handler; ` +
        'add one, or reconcile the entity types it feeds',
    );
  }
  return translator.truncate(change);
}

/**
 * Translates each change and appends its events through the producer in `tx`. A change the
 * translator rejects becomes a dead letter (code TM_CDC_TRANSLATION_FAILED) in the same
 * transaction, so it is recorded exactly when the rest of the batch is.
 */
export async function writeChanges(
  tx: Sql,
  ctx: SinkContext,
  changes: readonly RowChange[],
): Promise<WriteOutcome> {
  let events = 0;
  const rejected: { change: RowChange; reason: string }[] = [];
  for (const change of changes) {
    let savepoint = false;
    let appended = 0;
    try {
      const translated = normalise(await translate(ctx, change));
      // A change's events are appended all or none.
      savepoint = translated.length > 1;
      if (savepoint) await tx.query('SAVEPOINT cdc_change');
      for (const item of translated) {
        if (ctx.precedence && item.fields) {
          const ref = `cdc:${ctx.capture}:${change.lsn}/${change.table}/${changeKey(change)}#${item.entity.type}/${item.entity.id}`;
          const decision = await ctx.precedence.decide(
            tx,
            'legacy',
            item.entity,
            item.fields,
            ref,
            ctx.capture,
          );
          if (!decision.admitted) continue;
        }
        await ctx.producer.append(tx, item.entity, item.event, item.options);
        appended += 1;
      }
      if (savepoint) await tx.query('RELEASE SAVEPOINT cdc_change');
      events += appended;
    } catch (err) {
      if (savepoint) await tx.query('ROLLBACK TO SAVEPOINT cdc_change');
      rejected.push({ change, reason: await recordRejection(tx, ctx, change, err) });
    }
  }
  return { events, rejected };
}

import type { BackboneMessage, History, HistoryQuery } from '../backbone.js';
import type { Envelope } from '../../envelope/types.js';
import type { Db, Sql } from '../../store/db.js';
import { TidemarkError } from '../../errors.js';
import type { logStatements } from './sql.js';

function invalid(message: string, context: Record<string, unknown>): never {
  throw new TidemarkError('TM_INVALID_ARGUMENT', message, { context });
}

/** Opens a slice of the log; offsets increase in commit order, so position order keeps per-key order. */
export async function openHistory(
  database: Db,
  sql: ReturnType<typeof logStatements>,
  query: HistoryQuery,
): Promise<History> {
  const db: Sql = query.tx ?? database;
  const head = Number((await db.query<{ head: number }>(sql.head)).rows[0]?.head ?? 0);
  let from = query.fromPosition ?? 1;
  let to = query.toPosition ?? head;
  if (query.fromPosition !== undefined && (!Number.isSafeInteger(from) || from < 1)) {
    invalid(`a replay starts at a position of at least 1, got ${query.fromPosition}`, { fromPosition: from });
  }
  if (query.fromTime) {
    const first = (await db.query<{ position: number | null }>(sql.firstAtOrAfter, [query.fromTime])).rows[0]
      ?.position;
    if (first === null || first === undefined) {
      invalid(
        `nothing was appended at or after ${query.fromTime.toISOString()}: the log ends at position ${head}; ` +
          'choose an earlier time',
        { fromTime: query.fromTime.toISOString(), head },
      );
    }
    from = Math.max(from, Number(first));
  }
  if (query.toTime) {
    const last = (await db.query<{ position: number | null }>(sql.lastAtOrBefore, [query.toTime])).rows[0]
      ?.position;
    to = Math.min(to, last === null || last === undefined ? 0 : Number(last));
  }
  if (from > head) {
    invalid(`the range starts at position ${from}, beyond the end of the log (position ${head})`, {
      from,
      head,
    });
  }
  if (query.toPosition !== undefined && query.toPosition > head) {
    invalid(`the range ends at position ${query.toPosition}, beyond the end of the log (position ${head})`, {
      to: query.toPosition,
      head,
    });
  }
  if (to < from) invalid(`the range is empty: it starts at position ${from} and ends at ${to}`, { from, to });
  const keys = query.keys && query.keys.length > 0 ? [...query.keys] : null;
  const total = Number((await db.query<{ n: number }>(sql.historyCount, [from, to, keys])).rows[0]?.n ?? 0);
  const batchSize = query.batchSize ?? 500;
  return {
    total,
    head,
    async *batches() {
      let after = from - 1;
      for (;;) {
        const page = await db.query<{ partition: number; log_offset: number; envelope: Envelope }>(
          sql.historyPage,
          [after, to, keys, batchSize],
        );
        if (page.rows.length === 0) return;
        const messages: BackboneMessage[] = page.rows.map((r) => ({
          envelope: r.envelope,
          partition: Number(r.partition),
          offset: Number(r.log_offset),
          deliveryAttempt: 1,
        }));
        yield messages;
        after = messages[messages.length - 1]!.offset;
      }
    },
  };
}

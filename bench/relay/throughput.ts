import { createPostgresLog } from '../../src/backbone/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import type { Db } from '../../src/store/db.js';
import type { Target } from '../lib/targets.js';
import { progress } from '../lib/log.js';
import { round } from '../lib/stats.js';
import type { RelaySettings } from './settings.js';

export interface ThroughputFigures {
  readonly events: number;
  readonly batchSize: number;
  /** Average size of a stored outbox row (envelope included), so others can compare with their rows. */
  readonly avgRowBytes: number;
  /** Events the relay moved into the log: fewer than `events` means the relay skipped rows. */
  readonly relay: { readonly moved: number; readonly seconds: number; readonly eventsPerSec: number };
  readonly rawCopy: { readonly seconds: number; readonly rowsPerSec: number };
  /** relay events/s ÷ raw copy rows/s. */
  readonly ratio: number;
}

const APPENDS_PER_TX = 100;

/** Fills the outbox through the real producer so the rows are exactly what production relays. */
async function preload(db: Db, schema: string, settings: RelaySettings, writers: number): Promise<void> {
  await registerAuthority(db, { entityType: 'account', context: 'ledger' }, schema);
  // No NOTIFY: nothing listens yet, and the preload is not what is measured.
  const producer = createProducer({ context: 'ledger', schema, notify: false });
  let next = 0;
  const writer = async () => {
    while (next < settings.events) {
      const from = next;
      const to = Math.min(settings.events, from + APPENDS_PER_TX);
      next = to;
      // Aligned chunks of consecutive entities: writers never lock the same entities in another order.
      await db.transaction(async (tx) => {
        for (let i = from; i < to; i++) {
          await producer.append(
            tx,
            { type: 'account', id: `acct-${i % settings.entities}` },
            { kind: 'state', data: { accountId: i % settings.entities, balance: i, currency: 'EUR' } },
          );
        }
      });
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
}

/**
 * (ii) The relay draining a backlog into the postgres-log backbone, against the cheapest
 * possible move of the same rows: one INSERT … SELECT per batch that never leaves the server.
 * The ratio is the price of the relay's gap-safe read, its trip through JS, the log's
 * partitioning and the checkpoint.
 */
export async function measureThroughput(target: Target, settings: RelaySettings): Promise<ThroughputFigures> {
  const { schema, drop } = await target.freshSchema('relay');
  const s = `"${schema}"`;
  const db = await target.connect(settings.clients, 'relay');
  try {
    await preload(db, schema, settings, settings.clients);
    // The copy keeps the outbox's one index, as a minimal log would need.
    await db.query(`CREATE TABLE ${s}.bench_copy (LIKE ${s}.outbox, PRIMARY KEY (txid, position))`);
    // Sets hint bits and statistics once, so neither contender pays them for the other.
    await db.query(`VACUUM ANALYZE ${s}.outbox`);
    const size = await db.query<{ bytes: number }>(
      `SELECT (avg(pg_column_size(o.*)))::float8 AS bytes FROM ${s}.outbox o`,
    );
    progress(`  ${settings.events} events pre-appended; raw copy`);

    let started = performance.now();
    let cursor = { txid: '0', position: 0 };
    let copied = 0;
    for (;;) {
      const r = await db.query<{ txid: string; position: number; n: number }>(
        `WITH batch AS (
           SELECT * FROM ${s}.outbox WHERE (txid, position) > ($1::xid8, $2::bigint)
           ORDER BY txid, position LIMIT $3),
         copied AS (INSERT INTO ${s}.bench_copy SELECT * FROM batch RETURNING txid, position)
         SELECT last.txid::text AS txid, last.position, (SELECT count(*)::int FROM copied) AS n
         FROM (SELECT txid, position FROM copied ORDER BY txid DESC, position DESC LIMIT 1) AS last`,
        [cursor.txid, cursor.position, settings.batchSize],
      );
      const row = r.rows[0];
      if (!row || row.n === 0) break;
      copied += Number(row.n);
      cursor = { txid: row.txid, position: Number(row.position) };
      if (copied >= settings.events) break;
    }
    const rawMs = performance.now() - started;
    if (copied !== settings.events) throw new Error(`raw copy moved ${copied} of ${settings.events} rows`);

    progress('  relay drain');
    const backbone = await createPostgresLog({ db, schema, partitions: 16 });
    const relay = createRelay({ db, backbone, schema, batchSize: settings.batchSize });
    started = performance.now();
    await relay.drain();
    const relayMs = performance.now() - started;
    // Counted in the log rather than taken from drain(): a skipped row is what this must reveal.
    const moved = Number(
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.log`)).rows[0]?.n,
    );
    if (moved !== settings.events) progress(`  the relay left ${settings.events - moved} events behind`);
    const relayRate = (moved / relayMs) * 1000;
    const rawRate = (settings.events / rawMs) * 1000;
    return {
      events: settings.events,
      batchSize: settings.batchSize,
      avgRowBytes: round(Number(size.rows[0]?.bytes), 0),
      relay: { moved, seconds: round(relayMs / 1000, 2), eventsPerSec: round(relayRate, 0) },
      rawCopy: { seconds: round(rawMs / 1000, 2), rowsPerSec: round(rawRate, 0) },
      ratio: round(relayRate / rawRate, 3),
    };
  } finally {
    await db.close();
    await drop();
  }
}

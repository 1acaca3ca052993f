/**
 * `npm run bench -- cdc`: change data capture from a legacy table on server PostgreSQL into the
 * outbox, end to end (pgoutput decoding, translator, producer append, checkpoint, acknowledgement).
 * The initial snapshot in chunks, then a backlog of small transactions, then one large transaction.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createCapture, type Capture, type Translator } from '../src/cdc/index.js';
import { createProducer, registerAuthority } from '../src/producer/index.js';
import type { Db } from '../src/store/db.js';
import type { BenchContext, Benchmark } from './lib/benchmark.js';
import { progress } from './lib/log.js';
import type { BenchReport, TargetCheck } from './lib/report.js';
import type { Target } from './lib/targets.js';

const context = 'customer-profile';

interface Phase {
  readonly changes: number;
  readonly ms: number;
  readonly perSecond: number;
}

interface Figures {
  readonly database: string;
  readonly snapshot: Phase & { readonly chunkSize: number };
  readonly smallTransactions: Phase & { readonly perTransaction: number };
  readonly largeTransaction: Phase & { readonly partSize: number };
  readonly outboxRows: number;
}

function translator(table: string): Translator {
  return {
    table,
    translate(change) {
      const row = change.after ?? change.before!;
      return {
        entity: { type: 'customer', id: String(row.id) },
        event: {
          kind: 'domain',
          type: change.op === 'snapshot' ? 'CustomerSnapshot' : 'CustomerAddressChanged',
          data: { line1: row.addr_line1, postcode: row.postcode, rev: Number(row.rev) },
        },
      };
    },
  };
}

const phase = (changes: number, ms: number): Phase => ({ changes, ms, perSecond: (changes / ms) * 1000 });

async function timed(work: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function runOn(
  target: Target,
  sizes: { rows: number; small: number; large: number },
): Promise<Figures> {
  const tidemark = await target.freshSchema('cdc');
  const db: Db = await target.connect(4, 'cdc');
  const source = new pg.Client({ connectionString: target.connectionString });
  await source.connect();
  const legacy = `bench_legacy_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const table = `${legacy}.customers`;
  const name = `bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const chunkSize = 1_000;
  const partSize = 1_000;
  let capture: Capture | undefined;
  try {
    await source.query(`CREATE SCHEMA ${legacy}`);
    await source.query(
      `CREATE TABLE ${table} (id integer PRIMARY KEY, rev integer NOT NULL, addr_line1 text, postcode text,
         status_cd char(1) NOT NULL DEFAULT 'A')`,
    );
    await source.query(
      `INSERT INTO ${table} (id, rev, addr_line1, postcode)
       SELECT g, 1, g || ' Harbour Street', 'PC' || (g % 9000) FROM generate_series(1, $1) g`,
      [sizes.rows],
    );
    await registerAuthority(db, { entityType: 'customer', context }, tidemark.schema);
    const options = {
      name,
      source: { connectionString: target.connectionString! },
      translators: [translator(table)],
      sink: {
        db,
        schema: tidemark.schema,
        producer: createProducer({ context, schema: tidemark.schema, notify: false }),
      },
      snapshotChunkSize: chunkSize,
      transactionChunkSize: partSize,
    };

    progress(`cdc: snapshot of ${sizes.rows} rows`);
    capture = createCapture(options);
    const running = capture;
    const snapshotMs = await timed(async () => {
      await running.start();
      await running.snapshotDone();
      await running.catchUp();
    });

    // Backlogs: written while the capture is stopped, so the figure is the capture's own pace.
    await running.stop();
    const perTransaction = 10;
    await source.query(
      `DO $$ BEGIN
         FOR i IN 0..${sizes.small / perTransaction - 1} LOOP
           UPDATE ${table} SET rev = rev + 1, addr_line1 = 'Flat ' || i || ', ' || id || ' Quay Road'
           WHERE id > i * ${perTransaction} % ${sizes.rows} AND id <= i * ${perTransaction} % ${sizes.rows} + ${perTransaction};
           COMMIT;
         END LOOP;
       END $$`,
    );
    progress(`cdc: backlog of ${sizes.small} changes in transactions of ${perTransaction}`);
    capture = createCapture({ ...options, snapshot: 'never' });
    const second = capture;
    const smallMs = await timed(async () => {
      await second.start();
      await second.catchUp();
    });

    await second.stop();
    await source.query(`UPDATE ${table} SET rev = rev + 1, postcode = 'PX' || id WHERE id <= $1`, [
      sizes.large,
    ]);
    progress(`cdc: backlog of one transaction of ${sizes.large} changes`);
    capture = createCapture({ ...options, snapshot: 'never' });
    const third = capture;
    const largeMs = await timed(async () => {
      await third.start();
      await third.catchUp();
    });

    const { rows } = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM "${tidemark.schema}".outbox`,
    );
    const outboxRows = Number(rows[0]!.n);
    const expected = sizes.rows + sizes.small + sizes.large;
    if (outboxRows !== expected) {
      throw new Error(
        `the outbox holds ${outboxRows} events, expected ${expected}: the capture lost or doubled changes`,
      );
    }
    return {
      database: target.label,
      snapshot: { ...phase(sizes.rows, snapshotMs), chunkSize },
      smallTransactions: { ...phase(sizes.small, smallMs), perTransaction },
      largeTransaction: { ...phase(sizes.large, largeMs), partSize },
      outboxRows,
    };
  } finally {
    // Never leave a slot behind: it would retain WAL on the shared server for ever.
    await capture?.reset().catch((err: unknown) => progress(`cdc: reset failed: ${String(err)}`));
    await source.query(`DROP SCHEMA IF EXISTS ${legacy} CASCADE`).catch(() => {});
    await source.end();
    await db.close();
    await tidemark.drop();
  }
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export const cdcBenchmark: Benchmark = {
  description:
    'CDC end to end into the outbox: initial snapshot rows/s, backlog of small transactions and of one large transaction in changes/s (server PostgreSQL)',
  async run(context: BenchContext): Promise<BenchReport> {
    const target = context.targets.find((t) => t.key === 'postgres');
    if (!target) throw new Error('bench cdc needs logical replication: include postgres in --db');
    const sizes = context.quick
      ? { rows: 10_000, small: 5_000, large: 5_000 }
      : { rows: 50_000, small: 20_000, large: 50_000 };
    const f = await runOn(target, sizes);
    const targets: TargetCheck[] = [
      {
        name: 'every change in the outbox exactly once',
        on: target.label,
        target: `${n(sizes.rows + sizes.small + sizes.large)} events`,
        value: `${n(f.outboxRows)} events`,
        met: f.outboxRows === sizes.rows + sizes.small + sizes.large,
      },
    ];
    return {
      name: 'cdc',
      title: 'CDC: legacy table → translator → outbox, end to end',
      figures: f,
      table: {
        columns: [target.label],
        sections: [
          {
            title: `Initial snapshot: ${n(f.snapshot.changes)} rows, chunks of ${n(f.snapshot.chunkSize)}`,
            rows: [
              { label: 'time', cells: [s(f.snapshot.ms)] },
              { label: 'rows/s', cells: [n(f.snapshot.perSecond)] },
            ],
          },
          {
            title: `Streaming backlog: ${n(f.smallTransactions.changes)} updates in transactions of ${f.smallTransactions.perTransaction}`,
            rows: [
              { label: 'time', cells: [s(f.smallTransactions.ms)] },
              { label: 'changes/s', cells: [n(f.smallTransactions.perSecond)] },
            ],
          },
          {
            title: `Streaming backlog: one transaction of ${n(f.largeTransaction.changes)} updates, parts of ${n(f.largeTransaction.partSize)}`,
            rows: [
              { label: 'time', cells: [s(f.largeTransaction.ms)] },
              { label: 'changes/s', cells: [n(f.largeTransaction.perSecond)] },
            ],
          },
        ],
      },
      targets,
      method: [
        'Legacy table and Tidemark schema on the same server PostgreSQL (fsync on), so the capture’s outbox writes and the source’s WAL share one disk; the capture reads with pgoutput through pg-logical-replication, one Node process.',
        'Snapshot: time from start() to snapshotDone() and a catchUp() (every chunk’s rows in the outbox with its checkpoint). Backlogs are written while the capture is stopped; the time runs from start() to catchUp(), so it is the capture’s own pace (decode, translate, append, checkpoint, acknowledge), not the writers’.',
        'Each translated change is one outbox event (producer.append, entity version check); the outbox count is checked against the changes written.',
      ],
    };
  },
};

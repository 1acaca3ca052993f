/**
 * `npm run bench -- reconcile`: 1,000,000 entities, 0.1 % drift (a quarter of each class), on
 * server PostgreSQL. Detection by bucket digests vs a naive full compare of both tables in the
 * same run; repair through the consumer; then runs without drift, which read only bucket digests.
 */
import { createReconciler, rebuildDigests, type RunReport, type StateRow } from '../src/reconcile/index.js';
import type { Db } from '../src/store/db.js';
import type { BenchContext, Benchmark } from './lib/benchmark.js';
import { createCustomerBilling, flow } from './lib/customer-billing.js';
import { progress } from './lib/log.js';
import type { BenchReport, TableSection, TargetCheck } from './lib/report.js';
import type { Target } from './lib/targets.js';

type Drift = 'none' | 'missing' | 'stale' | 'divergent' | 'orphan';

/** Every 1,000th entity drifts; the classes take turns. Mirrored by the SQL below. */
const driftOf = (i: number): Drift =>
  i % 1000 !== 0 ? 'none' : (['missing', 'stale', 'divergent', 'orphan'] as const)[(i / 1000) % 4]!;
const driftSql = (cls: Drift) =>
  `(i % 1000 = 0 AND (i / 1000) % 4 = ${['missing', 'stale', 'divergent', 'orphan'].indexOf(cls)})`;

function* authorityRows(n: number): Generator<StateRow> {
  for (let i = 1; i <= n; i++) {
    const drift = driftOf(i);
    if (drift === 'orphan') continue;
    yield {
      id: `c${i}`,
      version: drift === 'stale' ? 2 : 1,
      state: { name: `Customer ${i}`, address: `${i} Street` },
    };
  }
}

function* replicaRows(n: number): Generator<StateRow> {
  for (let i = 1; i <= n; i++) {
    const drift = driftOf(i);
    if (drift === 'missing') continue;
    const address =
      drift === 'stale' ? `${i} Old Street` : drift === 'divergent' ? `${i} WRONG` : `${i} Street`;
    yield { id: `c${i}`, version: 1, state: { name: `Customer ${i}`, address } };
  }
}

interface Figures {
  readonly database: string;
  readonly entities: number;
  readonly drifted: number;
  readonly detect: {
    ms: number;
    rowsRead: number;
    buckets: number;
    bucketsDiffering: number;
    found: RunReport['found'];
  };
  readonly naive: { ms: number; rowsRead: number; found: number };
  readonly repair: { ms: number; outcomes: RunReport['outcomes']; rechecks: number };
  readonly afterRepair: { ms: number; rowsRead: number; confirmations: number };
  readonly noDrift: { ms: number; rowsRead: number; rows: number };
}

/** What one would do without digests: read both tables in id order, page by page, and compare. */
async function naiveCompare(
  authority: Db,
  a: string,
  replica: Db,
  r: string,
): Promise<{ rowsRead: number; found: number }> {
  const page = 50_000;
  type Row = { id: string; name: string; address: string; version: string };
  const read = (db: Db, table: string, after: string) =>
    db
      .query<Row>(
        `SELECT id, name, address, version::text FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${page}`,
        [after],
      )
      .then((x) => x.rows);
  let rowsRead = 0;
  let found = 0;
  let left: Row[] = await read(authority, `${a}.customers`, '');
  let right: Row[] = await read(replica, `${r}.accounts`, '');
  let li = 0;
  let ri = 0;
  rowsRead += left.length + right.length;
  for (;;) {
    if (li === left.length && left.length === page) {
      left = await read(authority, `${a}.customers`, left[li - 1]!.id);
      rowsRead += left.length;
      li = 0;
    }
    if (ri === right.length && right.length === page) {
      right = await read(replica, `${r}.accounts`, right[ri - 1]!.id);
      rowsRead += right.length;
      ri = 0;
    }
    const x = left[li];
    const y = right[ri];
    if (!x && !y) break;
    if (x && (!y || x.id < y.id)) {
      found++;
      li++;
    } else if (y && (!x || y.id < x.id)) {
      found++;
      ri++;
    } else {
      if (x!.version !== y!.version || x!.name !== y!.name || x!.address !== y!.address) found++;
      li++;
      ri++;
    }
  }
  return { rowsRead, found };
}

async function runOn(target: Target, entities: number): Promise<Figures> {
  const authoritySchema = await target.freshSchema('recon_a');
  const replicaSchema = await target.freshSchema('recon_r');
  const authority = await target.connect(4, 'recon-authority');
  const replica = await target.connect(4, 'recon-replica');
  const a = `"${authoritySchema.schema}"`;
  const r = `"${replicaSchema.schema}"`;
  try {
    progress(
      `${target.label}: loading ${entities} entities on each side (tables, applied versions, digests)`,
    );
    const estate = await createCustomerBilling(
      { db: authority, schema: authoritySchema.schema },
      { db: replica, schema: replicaSchema.schema },
    );
    await authority.query(
      `INSERT INTO ${estate.customers} SELECT 'c' || i, 'Customer ' || i, i || ' Street', CASE WHEN ${driftSql('stale')} THEN 2 ELSE 1 END
       FROM generate_series(1, $1) AS i WHERE NOT ${driftSql('orphan')}`,
      [entities],
    );
    await replica.query(
      `INSERT INTO ${estate.accounts} SELECT 'c' || i, 'Customer ' || i,
         CASE WHEN ${driftSql('stale')} THEN i || ' Old Street' WHEN ${driftSql('divergent')} THEN i || ' WRONG' ELSE i || ' Street' END, 1
       FROM generate_series(1, $1) AS i WHERE NOT ${driftSql('missing')}`,
      [entities],
    );
    await replica.query(
      `INSERT INTO ${r}.consumer_entities (consumer, entity_type, entity_id, version) SELECT 'billing', 'customer', id, version FROM ${estate.accounts}`,
    );
    await Promise.all([
      authority.query(`ANALYZE ${estate.customers}`),
      replica.query(`ANALYZE ${estate.accounts}`),
    ]);
    await rebuildDigests(authority, estate.authorityDigests.scopes[0]!, authorityRows(entities));
    // Earlier runs confirmed the replica; only what a run repairs needs confirming again.
    await rebuildDigests(replica, estate.replicaDigests, replicaRows(entities), { confirmed: true });
    await Promise.all([authority.query(`ANALYZE ${a}.recon_rows`), replica.query(`ANALYZE ${r}.recon_rows`)]);

    const reconciler = createReconciler({
      flow,
      authority: { db: authority, schema: authoritySchema.schema },
      replica: { db: replica, schema: replicaSchema.schema },
      repair: 'rehydrate',
      source: estate.source,
      consumer: estate.consumer,
      settleMs: 0,
    });
    const rowsOf = (x: RunReport) =>
      x.rowsRead.buckets +
      x.rowsRead.subBuckets +
      x.rowsRead.rows +
      x.rowsRead.rechecks +
      x.rowsRead.confirmations;

    progress(`${target.label}: detect (dry run)`);
    const detect = await reconciler.run({ dryRun: true });
    progress(`${target.label}: naive full compare of both tables`);
    const naiveStart = performance.now();
    const naive = await naiveCompare(authority, a, replica, r);
    const naiveMs = performance.now() - naiveStart;
    progress(`${target.label}: repair`);
    const repair = await reconciler.run();
    progress(`${target.label}: runs without drift`);
    const afterRepair = await reconciler.run();
    const noDrift = await reconciler.run();
    const drifted = [...Array(entities).keys()].filter((i) => driftOf(i + 1) !== 'none').length;
    return {
      database: target.label,
      entities,
      drifted,
      detect: {
        ms: detect.durationMs,
        rowsRead: rowsOf(detect),
        buckets: detect.rowsRead.buckets,
        bucketsDiffering: detect.bucketsDiffering,
        found: detect.found,
      },
      naive: { ms: naiveMs, rowsRead: naive.rowsRead, found: naive.found },
      repair: { ms: repair.durationMs, outcomes: repair.outcomes, rechecks: repair.rowsRead.rechecks },
      afterRepair: {
        ms: afterRepair.durationMs,
        rowsRead: rowsOf(afterRepair),
        confirmations: afterRepair.rowsRead.confirmations,
      },
      noDrift: { ms: noDrift.durationMs, rowsRead: rowsOf(noDrift), rows: noDrift.rowsRead.rows },
    };
  } finally {
    await authority.close();
    await replica.close();
    await authoritySchema.drop();
    await replicaSchema.drop();
  }
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function table(f: Figures): TableSection[] {
  const found = Object.entries(f.detect.found)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  const outcomes = Object.entries(f.repair.outcomes)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return [
    {
      title: `Detect: ${n(f.entities)} entities, ${n(f.drifted)} drifted (0.1 %)`,
      rows: [
        { label: 'time', cells: [s(f.detect.ms)] },
        {
          label: 'rows read (bucket, sub-bucket and row digests, both sides)',
          cells: [n(f.detect.rowsRead)],
        },
        { label: 'buckets differing (of 4,096)', cells: [n(f.detect.bucketsDiffering)] },
        { label: 'found', cells: [found] },
      ],
    },
    {
      title: 'Naive full compare of both tables (same run)',
      rows: [
        { label: 'time', cells: [s(f.naive.ms)] },
        { label: 'rows read', cells: [n(f.naive.rowsRead)] },
        { label: 'differences found', cells: [n(f.naive.found)] },
        { label: 'ratio naive / digests: time', cells: [`×${(f.naive.ms / f.detect.ms).toFixed(1)}`] },
        {
          label: 'ratio naive / digests: rows read',
          cells: [`×${(f.naive.rowsRead / f.detect.rowsRead).toFixed(1)}`],
        },
      ],
    },
    {
      title: 'Repair through the consumer (run incl. its own detection)',
      rows: [
        { label: 'time', cells: [s(f.repair.ms)] },
        { label: 'outcomes', cells: [outcomes] },
        { label: 'row digests re-read (recheck)', cells: [n(f.repair.rechecks)] },
      ],
    },
    {
      title: 'Runs without drift',
      rows: [
        { label: 'right after the repair: time', cells: [s(f.afterRepair.ms)] },
        { label: 'right after the repair: rows read', cells: [n(f.afterRepair.rowsRead)] },
        { label: 'steady state: time', cells: [s(f.noDrift.ms)] },
        { label: 'steady state: rows read (bucket digests only)', cells: [n(f.noDrift.rowsRead)] },
        { label: 'steady state: row digests read', cells: [n(f.noDrift.rows)] },
      ],
    },
  ];
}

export const reconcileBenchmark: Benchmark = {
  description:
    'reconciliation of 1,000,000 entities with 0.1 % drift: digests vs a naive full compare, repair, no-drift runs (server PostgreSQL)',
  async run(context: BenchContext): Promise<BenchReport> {
    const target = context.targets.find((t) => t.key === 'postgres');
    if (!target) throw new Error('bench reconcile runs on server PostgreSQL: include postgres in --db');
    const entities = context.quick ? 40_000 : 1_000_000;
    const f = await runOn(target, entities);
    const targets: TargetCheck[] = [
      {
        name: 'detect 0.1 % drift',
        on: target.label,
        target: '≤ 10 s',
        value: s(f.detect.ms),
        met: f.detect.ms <= 10_000,
      },
      {
        name: 'no-drift run reads only bucket digests',
        on: target.label,
        target: '0 row digests',
        value: `${n(f.noDrift.rows)} row digests, ${n(f.noDrift.rowsRead)} rows read`,
        met: f.noDrift.rows === 0,
      },
    ];
    return {
      name: 'reconcile',
      title: 'Reconciliation: detect and repair 0.1 % drift in 1,000,000 entities',
      figures: f,
      table: { columns: [target.label], sections: table(f) },
      targets,
      method: [
        'Authority (customers) and replica (billing accounts) in two fresh schemas of the same server, reached through two separate connection pools, as two databases would be; the comparison exchanges digests only.',
        'Every 1,000th entity drifts, the classes taking turns: missing, stale, divergent, orphan. Tables are filled with generate_series, digests with rebuildDigests (the replica’s marked as confirmed by earlier runs).',
        '"Detect" is a dry run: both sides’ bucket digests, then the sub-bucket digests (16 per bucket, folded in the database) of the differing buckets, then the row digests of the differing sub-buckets. The naive compare reads both tables in id order, 50,000 rows a page, and compares every row.',
        '"Repair" is a full run: detection again, a recheck of each finding, then rehydrate through consumer.handle (inbox, handler, digest, ledger in one transaction) and tombstones for orphans; the state source reads the authority table by key.',
        'Rows read counts rows returned by the database to the reconciler, both sides together.',
      ],
    };
  },
};

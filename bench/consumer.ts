/**
 * `npm run bench -- consumer`: exactly-once apply throughput of a backlog already in the log,
 * against a hand-written consumer with no guarantees, side by side in one run.
 */
import { createPostgresLog } from '../src/backbone/postgres-log/index.js';
import { createRelay } from '../src/relay/index.js';
import { preload } from './backbone/preload.js';
import type { BenchContext, Benchmark } from './lib/benchmark.js';
import { progress } from './lib/log.js';
import type { BenchReport, TableSection, TargetCheck } from './lib/report.js';
import { round } from './lib/stats.js';
import type { Target } from './lib/targets.js';
import { handWritten, tidemarkConsumer, type ApplyVariant } from './consumer/variants.js';

interface ConsumerSettings {
  readonly events: number;
  readonly entities: number;
  readonly partitions: number;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Each variant runs this many times, interleaved; the best run counts (least disturbed). */
  readonly rounds: number;
}

interface VariantFigures {
  readonly key: string;
  readonly label: string;
  readonly applied: number;
  readonly seconds: readonly number[];
  readonly eventsPerSec: number;
}

interface ConsumerFigures {
  readonly database: string;
  readonly settings: ConsumerSettings;
  readonly variants: readonly VariantFigures[];
}

const variants: readonly ApplyVariant[] = [
  handWritten,
  tidemarkConsumer(true),
  tidemarkConsumer(true, false),
  tidemarkConsumer(false),
];
const TARGET_EVENTS_PER_SEC = 10_000;

function settingsFor(target: Target, quick: boolean, events?: number): ConsumerSettings {
  const full = target.concurrent ? 20_000 : 5_000;
  return {
    events: events ?? (quick ? 1_000 : full),
    entities: 1_000,
    partitions: 16,
    batchSize: 100,
    concurrency: target.concurrent ? 4 : 1,
    rounds: quick ? 1 : 3,
  };
}

async function runOn(target: Target, context: BenchContext): Promise<ConsumerFigures> {
  const settings = settingsFor(target, context.quick, context.events);
  const { schema, drop } = await target.freshSchema('consumer');
  const db = await target.connect(settings.concurrency + 4, 'consumer-bench');
  try {
    progress(`${target.label}: ${settings.events} events into the log`);
    await preload(db, schema, settings.events, settings.entities, target.concurrent ? 4 : 1);
    await createRelay({
      db,
      schema,
      backbone: await createPostgresLog({ db, schema, partitions: settings.partitions }),
      batchSize: 1_000,
    }).drain();
    await db.query(`VACUUM ANALYZE "${schema}".log`);
    const times = new Map<string, { applied: number; seconds: number[] }>();
    for (let round_ = 0; round_ < settings.rounds; round_++) {
      for (const variant of variants) {
        // Every run gets fresh group state (its own schema copy of nothing but the log would be
        // costly): a new projection table and, for Tidemark, a consumer group name per run.
        const table = `"${schema}".projection_${variant.key.replaceAll('-', '_')}_${round_}`;
        await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, version bigint, data jsonb)`);
        await db.query(
          `TRUNCATE "${schema}".inbox, "${schema}".consumer_entities, "${schema}".ledger_stages`,
        );
        await db.query(`DELETE FROM "${schema}".log_checkpoints`);
        await db.query(`DROP TABLE IF EXISTS "${schema}".floor_checkpoints`);
        const started = performance.now();
        const applied = await variant.run({ db, schema, table, ...settings });
        const seconds = (performance.now() - started) / 1000;
        progress(`  ${variant.key}: ${applied} applied in ${seconds.toFixed(2)} s`);
        const entry = times.get(variant.key) ?? { applied, seconds: [] };
        entry.seconds.push(round(seconds, 3));
        entry.applied = Math.min(entry.applied, applied);
        times.set(variant.key, entry);
      }
    }
    return {
      database: target.label,
      settings,
      variants: variants.map((v) => {
        const { applied, seconds } = times.get(v.key)!;
        return {
          key: v.key,
          label: v.label,
          applied,
          seconds,
          eventsPerSec: round(applied / Math.min(...seconds), 0),
        };
      }),
    };
  } finally {
    await db.close();
    await drop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function table(runs: readonly ConsumerFigures[]): TableSection[] {
  const floor = (r: ConsumerFigures) => r.variants.find((v) => v.key === 'hand-written')!.eventsPerSec;
  return [
    {
      title: 'applying a backlog already in postgres-log',
      rows: [
        {
          label: 'events (entities)',
          cells: runs.map((r) => `${fmt(r.settings.events)} (${fmt(r.settings.entities)})`),
        },
        {
          label: 'batch / partitions in parallel',
          cells: runs.map((r) => `${r.settings.batchSize} / ${r.settings.concurrency}`),
        },
        ...variants.flatMap((v) => [
          {
            label: `${v.label}, events/s`,
            cells: runs.map((r) => {
              const f = r.variants.find((x) => x.key === v.key)!;
              return `${fmt(f.eventsPerSec)}${f.applied < r.settings.events ? ` (only ${fmt(f.applied)} applied)` : ''}`;
            }),
          },
          ...(v.key === 'hand-written'
            ? []
            : [
                {
                  label: `  vs hand-written`,
                  cells: runs.map(
                    (r) =>
                      `× ${(r.variants.find((x) => x.key === v.key)!.eventsPerSec / floor(r)).toFixed(2)}`,
                  ),
                },
              ]),
        ]),
      ],
    },
  ];
}

function checks(runs: readonly ConsumerFigures[]): TargetCheck[] {
  return runs
    .filter((r) => r.settings.concurrency > 1)
    .map((r) => {
      const best = r.variants.find((v) => v.key === 'tidemark-batch')!;
      return {
        name: 'exactly-once consumer apply',
        on: r.database,
        target: `≥ ${fmt(TARGET_EVENTS_PER_SEC)} events/s, every event applied`,
        value: `${fmt(best.eventsPerSec)} events/s, ${fmt(best.applied)}/${fmt(r.settings.events)} applied`,
        met: best.eventsPerSec >= TARGET_EVENTS_PER_SEC && best.applied === r.settings.events,
      };
    });
}

export const consumerBenchmark: Benchmark = {
  description: 'exactly-once consumer apply throughput vs a hand-written consumer without guarantees',
  async run(context: BenchContext): Promise<BenchReport> {
    const runs: ConsumerFigures[] = [];
    for (const target of context.targets) runs.push(await runOn(target, context));
    return {
      name: 'consumer',
      title: 'Consumer apply throughput: exactly-once vs hand-written',
      figures: runs,
      table: { columns: runs.map((r) => r.database), sections: table(runs) },
      targets: checks(runs),
      method: [
        'N state events over 1,000 entities are appended through the producer (100 per transaction), relayed into postgres-log (16 partitions) and VACUUM ANALYZEd before anything is timed; every variant then applies the same backlog from the start into its own projection table (upsert of id, version, data), in one process, on one pool.',
        'Hand-written: per partition, a page of 100 log rows, then one transaction with an upsert per event and a checkpoint upsert; partitions split over the same number of workers as the consumer. It keeps no inbox, checks no version and records nothing: the floor.',
        'Tidemark: createConsumer over createPostgresLog with batchSize 100 and partitionConcurrency as stated; it dedups through the inbox, applies by version rules, records applied versions and ledger stages (delivered, applied) in the same transaction. "One transaction per event" is batchApply: false. Time runs from start() to the last applied outcome; group state is cleared between runs.',
        '"ledger: false" is the same consumer without maturity-ledger stages: it shows what the two stage rows per event (delivered, applied) cost.',
        'Variants take turns for 3 rounds; the fastest round of each counts, so a burst of foreign load hurts one round, not the comparison.',
      ],
    };
  },
};

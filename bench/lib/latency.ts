import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Backbone } from '../../src/backbone/backbone.js';
import { createConsumer, type Outcome } from '../../src/consumer/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import type { Db } from '../../src/store/db.js';
import { sleep } from '../../src/util/wakeup.js';
import { progress } from './log.js';
import { paced } from './pacing.js';
import { distribution, round, type Distribution } from './stats.js';
import type { Target } from './targets.js';

/*
 * commit → applied at a steady offered rate, shared by `bench relay` (iii) and `bench backbone`
 * (b): producer → outbox → relay (woken by NOTIFY) → backbone → consumer → projection.
 */

export type Ms = Pick<Distribution, 'p50' | 'p95' | 'p99' | 'max' | 'mean'>;

export interface LatencySettings {
  /** Producer connections. */
  readonly clients: number;
  /** Rows per relay batch. */
  readonly batchSize: number;
  /** Offered producer rate, events per second. */
  readonly rate: number;
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  /** Distinct entities the producer cycles through. */
  readonly entities: number;
}

/** Backbone instances on one log, for one measurement in one schema. */
export interface BackboneSource {
  /** A new instance; `db` is the caller's pool (postgres-log keeps its log there). */
  open(db: Db): Promise<Backbone>;
  /** Closes every opened instance and deletes broker data; the schema is dropped by its owner. */
  dispose(): Promise<void>;
}

export interface LatencyFigures {
  readonly offeredRate: number;
  readonly seconds: number;
  /** Producer commits per second over the measured window. */
  readonly achievedRate: number;
  readonly produced: number;
  readonly applied: number;
  /** commit → applied, milliseconds. */
  readonly ms: Ms;
  /**
   * The same path cut where the relay inserts into the log (server clock_timestamp()); only when
   * the backbone is postgres-log in the measured schema.
   */
  readonly stages?: { readonly commitToLog: Ms; readonly logToApplied: Ms };
  /** This one Node process runs producer, relay and consumer: if it is saturated, so are the figures. */
  readonly node: { readonly cpuPct: number; readonly eventLoopDelayP99Ms: number };
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the server's clock. */
const now = () => performance.timeOrigin + performance.now();

const summary = (values: readonly number[]): Ms => {
  const d = distribution(values);
  return { p50: round(d.p50), p95: round(d.p95), p99: round(d.p99), max: round(d.max), mean: round(d.mean) };
};

/** Waits until every id in `expected` is in `seen`, or nothing new arrived for `stallMs`. */
async function settle(expected: Iterable<string>, seen: Map<string, number>, stallMs: number): Promise<void> {
  const ids = [...expected];
  let last = seen.size;
  let lastChange = performance.now();
  while (ids.some((id) => !seen.has(id)) && performance.now() - lastChange < stallMs) {
    await sleep(20);
    if (seen.size !== last) [last, lastChange] = [seen.size, performance.now()];
  }
}

/**
 * Producer, relay and consumer each get their own pool and backbone instance, as separate
 * processes would. With `cutAtLog` (postgres-log in this schema) the path is also cut where
 * the relay inserts into the log.
 */
export async function measureLatency(options: {
  readonly target: Target;
  /** Prefix of the fresh schema. */
  readonly schemaPrefix: string;
  /** Names the run in progress lines. */
  readonly label: string;
  readonly settings: LatencySettings;
  readonly backbone: (schema: string) => BackboneSource;
  readonly cutAtLog: boolean;
}): Promise<LatencyFigures> {
  const { target, settings, label } = options;
  const { schema, drop } = await target.freshSchema(options.schemaPrefix);
  const s = `"${schema}"`;
  const pools: Db[] = [];
  const connect = async (max: number, role: string) => {
    const db = await target.connect(max, role);
    pools.push(db);
    return db;
  };
  const backbones = options.backbone(schema);
  const producerDb = await connect(settings.clients, 'producer');
  const relayDb = await connect(3, 'relay');
  const consumerDb = await connect(10, 'consumer');
  const committedAt = new Map<string, number>();
  const appliedAt = new Map<string, number>();
  const onOutcome = (outcome: Outcome) => {
    // A redelivered event comes back as a duplicate; only the first application counts. Warm-up
    // events are recorded too: their commit time is never recorded, so they never pair up.
    if (outcome.kind === 'applied') appliedAt.set(outcome.envelope.id, now());
  };
  const relay = createRelay({
    db: relayDb,
    backbone: await backbones.open(relayDb),
    schema,
    batchSize: settings.batchSize,
  });
  const consumer = createConsumer({
    name: 'projection',
    db: consumerDb,
    backbone: await backbones.open(consumerDb),
    schema,
    onOutcome,
    handlers: {
      account: {
        async apply(tx, event) {
          await tx.query(
            `INSERT INTO ${s}.bench_projection (id, version, data) VALUES ($1, $2, $3::jsonb)
             ON CONFLICT (id) DO UPDATE SET version = $2, data = $3::jsonb`,
            [event.entityid, event.entityversion, JSON.stringify(event.data)],
          );
        },
      },
    },
  });
  try {
    await consumerDb.query(
      `CREATE TABLE ${s}.bench_projection (id text PRIMARY KEY, version bigint, data jsonb)`,
    );
    await registerAuthority(producerDb, { entityType: 'account', context: 'ledger' }, schema);
    const producer = createProducer({ context: 'ledger', schema });
    relay.start();
    await consumer.start();
    await sleep(300); // the relay's LISTEN is set up in the background

    let measuring = false;
    const send = async (i: number) => {
      const id = `acct-${i % settings.entities}`;
      const { eventId } = await producerDb.transaction((tx) =>
        producer.append(tx, { type: 'account', id }, { kind: 'state', data: { accountId: id, balance: i } }),
      );
      if (measuring) committedAt.set(eventId, now());
    };
    // Twice the pool: a commit waiting for its fsync does not stop the next one from starting.
    const maxInFlight = settings.clients * 2;
    await paced(settings.rate, settings.latencyWarmupSeconds, maxInFlight, send);
    progress(`  ${label}: paced producer at ${settings.rate} ev/s for ${settings.latencySeconds} s`);
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const cpu = process.cpuUsage();
    measuring = true;
    const production = await paced(settings.rate, settings.latencySeconds, maxInFlight, send);
    measuring = false;
    const cpuUsed = process.cpuUsage(cpu);
    loop.disable();
    await settle(committedAt.keys(), appliedAt, 5_000);

    const logged = options.cutAtLog
      ? new Map(
          (
            await relayDb.query<{ id: string; at: number }>(
              `SELECT event_id::text AS id, extract(epoch FROM appended_at)::float8 * 1000 AS at FROM ${s}.log`,
            )
          ).rows.map((r) => [r.id, Number(r.at)]),
        )
      : undefined;
    const total: number[] = [];
    const toLog: number[] = [];
    const fromLog: number[] = [];
    for (const [id, committed] of committedAt) {
      const applied = appliedAt.get(id);
      if (applied === undefined) continue;
      // The consumer's callback can run before the producer's: clamp that sub-millisecond race to 0.
      total.push(Math.max(0, applied - committed));
      const inLog = logged?.get(id);
      if (inLog === undefined) continue;
      toLog.push(inLog - committed);
      fromLog.push(applied - inLog);
    }
    return {
      offeredRate: settings.rate,
      seconds: settings.latencySeconds,
      achievedRate: round((committedAt.size / production.ms) * 1000, 0),
      produced: committedAt.size,
      applied: total.length,
      ms: summary(total),
      ...(logged ? { stages: { commitToLog: summary(toLog), logToApplied: summary(fromLog) } } : {}),
      node: {
        cpuPct: round(((cpuUsed.user + cpuUsed.system) / 1000 / production.ms) * 100, 0),
        eventLoopDelayP99Ms: round(loop.percentile(99) / 1e6),
      },
    };
  } finally {
    await consumer.stop();
    await relay.stop();
    await backbones.dispose();
    for (const db of pools) await db.close();
    await drop();
  }
}

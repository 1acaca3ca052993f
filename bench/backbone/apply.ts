import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createRelay } from '../../src/relay/index.js';
import type { Db } from '../../src/store/db.js';
import { sleep } from '../../src/util/wakeup.js';
import { progress } from '../lib/log.js';
import { round } from '../lib/stats.js';
import type { Target } from '../lib/targets.js';
import type { BackboneKind } from './kinds.js';
import { preload } from './preload.js';
import type { BackboneSettings } from './settings.js';

export interface ApplyRun {
  readonly instances: number;
  readonly applied: number;
  readonly seconds: number;
  readonly eventsPerSec: number;
  /** Events applied by each instance, in start order: shows how the group shared the partitions. */
  readonly perInstance: readonly number[];
}

export interface ApplyFigures {
  readonly events: number;
  readonly runs: readonly ApplyRun[];
}

/** Waits until `done()` or nothing new was counted for `stallMs`. */
async function until(done: () => boolean, count: () => number, stallMs: number): Promise<void> {
  let last = count();
  let lastChange = performance.now();
  while (!done() && performance.now() - lastChange < stallMs) {
    await sleep(10);
    if (count() !== last) [last, lastChange] = [count(), performance.now()];
  }
}

/**
 * (c) Consumer apply throughput: `applyEvents` events already in the backbone, then one new
 * consumer group per instance count (its own projection table) whose instances — each with its
 * own pool and backbone instance, as separate processes would — start together and apply the
 * whole backlog. Time runs from the first start() to the last applied event.
 */
export async function measureApply(
  target: Target,
  kind: BackboneKind,
  settings: BackboneSettings,
): Promise<ApplyFigures> {
  const { schema, drop } = await target.freshSchema('bbapply');
  const s = `"${schema}"`;
  const backbones = kind.create(
    schema,
    settings.partitions,
    settings.instances.map((n) => `apply${n}`),
  );
  const pools: Db[] = [];
  const connect = async (max: number, role: string) => {
    const db = await target.connect(max, role);
    pools.push(db);
    return db;
  };
  try {
    const db = await connect(settings.clients, 'relay');
    await preload(db, schema, settings.applyEvents, settings.entities, settings.clients);
    const relay = createRelay({
      db,
      backbone: await backbones.open(db),
      schema,
      batchSize: settings.batchSize,
    });
    await relay.drain();
    progress(`  ${kind.key}: ${settings.applyEvents} events in the backbone`);
    const runs: ApplyRun[] = [];
    for (const n of settings.instances) {
      const table = `${s}.bench_apply_${n}`;
      await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, version bigint, data jsonb)`);
      const seen = new Set<string>();
      const perInstance = Array.from({ length: n }, () => 0);
      let lastApplied = 0;
      const consumers: Consumer[] = [];
      for (let i = 0; i < n; i++) {
        const consumerDb = await connect(10, `consumer-${n}-${i}`);
        consumers.push(
          createConsumer({
            name: `apply${n}`,
            db: consumerDb,
            backbone: await backbones.open(consumerDb),
            schema,
            onOutcome(outcome) {
              if (outcome.kind !== 'applied' || seen.has(outcome.envelope.id)) return;
              seen.add(outcome.envelope.id);
              perInstance[i]!++;
              lastApplied = performance.now();
            },
            handlers: {
              account: {
                async apply(tx, event) {
                  await tx.query(
                    `INSERT INTO ${table} (id, version, data) VALUES ($1, $2, $3::jsonb)
                     ON CONFLICT (id) DO UPDATE SET version = $2, data = $3::jsonb`,
                    [event.entityid, event.entityversion, JSON.stringify(event.data)],
                  );
                },
              },
            },
          }),
        );
      }
      progress(`  ${kind.key}: ${n} consumer instance(s)`);
      const started = performance.now();
      try {
        await Promise.all(consumers.map((c) => c.start()));
        await until(
          () => seen.size >= settings.applyEvents,
          () => seen.size,
          10_000,
        );
      } finally {
        for (const c of consumers) await c.stop();
      }
      const ms = Math.max(1, lastApplied - started);
      runs.push({
        instances: n,
        applied: seen.size,
        seconds: round(ms / 1000, 2),
        eventsPerSec: round((seen.size / ms) * 1000, 0),
        perInstance,
      });
    }
    return { events: settings.applyEvents, runs };
  } finally {
    await backbones.dispose();
    for (const db of pools) await db.close();
    await drop();
  }
}

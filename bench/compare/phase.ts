import type { Db } from '../../src/store/db.js';
import { sleep } from '../../src/util/wakeup.js';
import { paced } from '../lib/pacing.js';
import { distribution, round } from '../lib/stats.js';
import { sharedTables, type Contender, type ContenderEnv } from './contender.js';

/** Wall-clock milliseconds, comparable with the database's clock_timestamp() on the same host. */
const now = () => performance.timeOrigin + performance.now();

export interface Workload {
  readonly keys: number;
  readonly payloadBytes: number;
  readonly clients: number;
}

/** How a phase offers events: as fast as `clients` closed-loop clients can, or at a paced rate. */
export type Offer =
  | { readonly kind: 'burst'; readonly events: number }
  | { readonly kind: 'paced'; readonly rate: number; readonly events: number };

export interface PhaseFigures {
  readonly offer: Offer;
  /** Business transactions that committed (their event ids are the ground truth). */
  readonly committed: number;
  /** Committed business transactions per second while the pipeline ran alongside. */
  readonly appendTps: number;
  /** Committed events with at least one effect in the projection. */
  readonly applied: number;
  /** Committed events with no effect once the pipeline went quiet. */
  readonly lost: number;
  /** Effects beyond the first, summed over events. */
  readonly duplicated: number;
  /** first commit → last first-application, over applied events per second. */
  readonly appliedPerSec: number;
  /** commit → applied, milliseconds, over applied events. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly max: number;
  };
  /** CPU of this Node process (producer and pipeline clients; not the servers) per 10,000 events. */
  readonly nodeCpuSecondsPer10k: number;
  /** A few lost ids, for people to look up. */
  readonly lostSample: readonly string[];
}

/** Called before the phase's schema is dropped, e.g. by a test checking the figures against the tables. */
export type Inspect = (schema: string, figures: PhaseFigures, lostIds: ReadonlySet<string>) => Promise<void>;

interface Effects {
  readonly firstAt: Map<string, number>;
  readonly duplicated: number;
}

async function readEffects(db: Db, schema: string): Promise<Effects> {
  const { rows } = await db.query<{ event_id: string; n: number; at: number }>(
    `SELECT event_id, count(*)::int AS n, (extract(epoch FROM min(applied_at)) * 1000)::float8 AS at
     FROM "${schema}".bench_effects GROUP BY event_id`,
  );
  const firstAt = new Map<string, number>();
  let duplicated = 0;
  for (const r of rows) {
    firstAt.set(r.event_id, Number(r.at));
    duplicated += Number(r.n) - 1;
  }
  return { firstAt, duplicated };
}

/** Waits until `expected` events have an effect, or until none arrived for `stallMs`. */
async function settle(db: Db, schema: string, expected: number, stallMs: number): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  for (;;) {
    const r = await db.query<{ n: number }>(
      `SELECT count(DISTINCT event_id)::int AS n FROM "${schema}".bench_effects`,
    );
    const n = Number(r.rows[0]?.n ?? 0);
    if (n >= expected) return;
    if (n !== last) [last, lastChange] = [n, performance.now()];
    else if (performance.now() - lastChange > stallMs) return;
    await sleep(100);
  }
}

function payloadFor(i: number, bytes: number): string {
  const stamp = `${i.toString(36)}:`;
  return stamp + 'x'.repeat(Math.max(0, bytes - stamp.length));
}

/**
 * One contender, one phase, on a fresh schema: start its pipeline, offer the events, wait
 * until the projection stops changing, and compare what committed with what was applied.
 */
export async function runPhase(
  contender: Contender,
  env: Omit<ContenderEnv, 'schema' | 'clients'> & {
    freshSchema(): Promise<{ schema: string; drop(): Promise<void> }>;
  },
  workload: Workload,
  offer: Offer,
  inspect?: Inspect,
): Promise<PhaseFigures> {
  const { schema, drop } = await env.freshSchema();
  try {
    await env.admin.query(sharedTables(schema, workload.keys));
    const running = await contender.start({ ...env, schema, clients: workload.clients });
    const committedAt = new Map<string, number>();
    const send = async (i: number) => {
      const id = await running.transact(`k${i % workload.keys}`, payloadFor(i, workload.payloadBytes));
      committedAt.set(id, now());
    };
    const cpu = process.cpuUsage();
    const started = performance.now();
    try {
      if (offer.kind === 'burst') {
        let next = 0;
        const client = async () => {
          while (next < offer.events) await send(next++);
        };
        await Promise.all(Array.from({ length: workload.clients }, client));
      } else {
        await paced(offer.rate, offer.events / offer.rate, workload.clients * 2, send);
      }
      const producerMs = performance.now() - started;
      await settle(env.admin, schema, committedAt.size, 3_000);
      const cpuUsed = process.cpuUsage(cpu);
      const effects = await readEffects(env.admin, schema);
      const latencies: number[] = [];
      const lostIds = new Set<string>();
      let lastApplied = 0;
      for (const [id, committed] of committedAt) {
        const applied = effects.firstAt.get(id);
        if (applied === undefined) {
          lostIds.add(id);
          continue;
        }
        // The apply can be stamped a hair before the producer's commit resolves in Node.
        latencies.push(Math.max(0, applied - committed));
        lastApplied = Math.max(lastApplied, applied);
      }
      const firstCommit = Math.min(...committedAt.values());
      const d = distribution(latencies);
      const applied = latencies.length;
      const figures: PhaseFigures = {
        offer,
        committed: committedAt.size,
        appendTps: round((committedAt.size / producerMs) * 1000, 0),
        applied,
        lost: lostIds.size,
        duplicated: effects.duplicated,
        appliedPerSec: applied ? round((applied / Math.max(1, lastApplied - firstCommit)) * 1000, 0) : 0,
        latencyMs: { p50: round(d.p50), p95: round(d.p95), p99: round(d.p99), max: round(d.max) },
        nodeCpuSecondsPer10k: round(
          ((cpuUsed.user + cpuUsed.system) / 1e6 / Math.max(1, committedAt.size)) * 10_000,
          2,
        ),
        lostSample: [...lostIds].slice(0, 5),
      };
      await inspect?.(schema, figures, lostIds);
      return figures;
    } finally {
      await running.stop();
    }
  } finally {
    await drop();
  }
}

/** The bare business transaction (BEGIN; UPDATE; COMMIT), the yardstick for append cost. */
export async function bareTps(
  env: Pick<ContenderEnv, 'admin' | 'connect'> & {
    freshSchema(): Promise<{ schema: string; drop(): Promise<void> }>;
  },
  workload: Workload,
  transactions: number,
): Promise<number> {
  const { schema, drop } = await env.freshSchema();
  const db = await env.connect(workload.clients, 'bare');
  try {
    await env.admin.query(sharedTables(schema, workload.keys));
    const update = `UPDATE "${schema}".bench_accounts SET balance = balance + 1, payload = $2 WHERE key = $1`;
    let next = 0;
    const client = async () => {
      while (next < transactions) {
        const i = next++;
        await db.transaction((tx) =>
          tx.query(update, [`k${i % workload.keys}`, payloadFor(i, workload.payloadBytes)]),
        );
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: workload.clients }, client));
    return round((transactions / (performance.now() - started)) * 1000, 0);
  } finally {
    await db.close();
    await drop();
  }
}

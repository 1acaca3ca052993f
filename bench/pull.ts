/**
 * `npm run bench -- pull`: the pull client against a real read API (Fastify on 127.0.0.1,
 * in this process) — fetch throughput and p99 under a Zipf-skewed burst with and without
 * request coalescing, read latency per consistency tier, and the circuit breaker failing fast.
 * No database is involved: the authority's reader answers from memory after a fixed delay
 * standing in for its own query.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { authorityReadApi, createPullClient, type PullClient } from '../src/pull/index.js';
import type { BenchContext, Benchmark } from './lib/benchmark.js';
import { progress } from './lib/log.js';
import type { BenchReport, TableSection, TargetCheck } from './lib/report.js';
import { distribution, round, type Distribution } from './lib/stats.js';

interface Settings {
  readonly keys: number;
  readonly zipfExponent: number;
  readonly callers: number;
  readonly gets: number;
  readonly readerDelayMs: number;
  readonly tierReads: number;
}

interface BurstFigures {
  readonly getsPerSecond: number;
  readonly latencyMs: Distribution;
  readonly requests: number;
}

interface TierFigures {
  readonly strong: Distribution;
  readonly bounded: Distribution;
  readonly eventual: Distribution;
}

interface BreakerFigures {
  /** Calls while the authority hangs and the breaker is still closed (each waits for the timeout). */
  readonly closedFailingMs: Distribution;
  /** Calls once the breaker is open. */
  readonly openMs: Distribution;
  readonly requestsWhileOpen: number;
  /** From the authority answering again to the first successful read. */
  readonly recoveryMs: number;
  readonly resetTimeoutMs: number;
}

interface Run {
  readonly label: string;
  readonly burst: BurstFigures;
  readonly tiers: TierFigures;
}

/** A deterministic PRNG (mulberry32), so both runs draw the same key sequence. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Key indexes drawn from a Zipf distribution over `n` keys (rank 1 the most frequent). */
function zipfKeys(n: number, exponent: number, count: number, random: () => number): number[] {
  const cumulative: number[] = [];
  let sum = 0;
  for (let rank = 1; rank <= n; rank++) cumulative.push((sum += 1 / rank ** exponent));
  return Array.from({ length: count }, () => {
    const target = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

interface Authority {
  readonly app: FastifyInstance;
  readonly baseUrl: string;
  requests: number;
  delayMs: number;
}

async function startAuthority(keys: number, delayMs: number): Promise<Authority> {
  const app = Fastify();
  const updatedAt = new Date();
  const authority = { app, baseUrl: '', requests: 0, delayMs };
  app.addHook('onRequest', async () => {
    authority.requests++;
  });
  await app.register(authorityReadApi, {
    readers: {
      customer: async (ids) => {
        if (authority.delayMs > 0) await new Promise((r) => setTimeout(r, authority.delayMs));
        return ids
          .filter((id) => Number(id.slice(2)) < keys)
          .map((id) => ({ id, version: 1, state: { name: `Customer ${id}`, address: '1 Quay' }, updatedAt }));
      },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  authority.baseUrl = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return authority;
}

async function burst(authority: Authority, client: PullClient, keys: readonly number[], callers: number) {
  const before = authority.requests;
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const t0 = performance.now();
        await client.get('customer', `c-${key}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    getsPerSecond: keys.length / seconds,
    latencyMs: distribution(latencies),
    requests: authority.requests - before,
  };
}

async function tiers(client: PullClient, reads: number): Promise<TierFigures> {
  const timed = async (read: () => Promise<unknown>) => {
    const latencies: number[] = [];
    for (let i = 0; i < reads; i++) {
      const t0 = performance.now();
      await read();
      latencies.push(performance.now() - t0);
    }
    return distribution(latencies);
  };
  await client.get('customer', 'c-0');
  return {
    strong: await timed(() => client.get('customer', 'c-0')),
    bounded: await timed(() => client.get('customer', 'c-0', { tier: 'bounded', maxStalenessMs: 60_000 })),
    eventual: await timed(() => client.get('customer', 'c-0', { tier: 'eventual' })),
  };
}

async function breaker(quick: boolean): Promise<BreakerFigures> {
  const resetTimeoutMs = 500;
  const authority = await startAuthority(10, 0);
  const client = createPullClient({
    baseUrl: authority.baseUrl,
    consumer: 'bench',
    timeoutMs: 100,
    retries: 0,
    breaker: { volumeThreshold: 5, errorThresholdPercentage: 50, resetTimeout: resetTimeoutMs },
  });
  try {
    authority.delayMs = 10_000; // hangs: every call runs into the client's timeout
    const closedFailing: number[] = [];
    const open: number[] = [];
    let requestsWhileOpen = 0;
    for (let i = 0; i < (quick ? 20 : 200); i++) {
      const wasOpen = client.stats().breaker === 'open';
      const before = authority.requests;
      const t0 = performance.now();
      await client.get('customer', 'c-1').catch(() => undefined);
      (wasOpen ? open : closedFailing).push(performance.now() - t0);
      if (wasOpen) requestsWhileOpen += authority.requests - before;
    }
    authority.delayMs = 0;
    const recovered = performance.now();
    for (;;) {
      const ok = await client.get('customer', 'c-1').then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    return {
      closedFailingMs: distribution(closedFailing),
      openMs: distribution(open),
      requestsWhileOpen,
      recoveryMs: performance.now() - recovered,
      resetTimeoutMs,
    };
  } finally {
    client.close();
    authority.app.server.closeAllConnections();
    await authority.app.close();
  }
}

const ms = (value: number) =>
  value < 1 ? `${(value * 1000).toFixed(0)} µs` : `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`;
const p50p99 = (d: Distribution) => `${ms(d.p50)} / ${ms(d.p99)}`;
const thousands = (value: number) => Math.round(value).toLocaleString('en-US');

function table(settings: Settings, runs: readonly Run[], b: BreakerFigures): TableSection[] {
  const cells = (f: (run: Run) => string) => runs.map(f);
  return [
    {
      title: `Zipf burst: ${thousands(settings.gets)} strong gets, ${settings.callers} callers, ${thousands(settings.keys)} keys (s=${settings.zipfExponent}), reader ${settings.readerDelayMs} ms`,
      rows: [
        { label: 'gets/s', cells: cells((r) => thousands(r.burst.getsPerSecond)) },
        { label: 'latency p50 / p99', cells: cells((r) => p50p99(r.burst.latencyMs)) },
        { label: 'requests at the authority', cells: cells((r) => thousands(r.burst.requests)) },
        {
          label: 'requests per get',
          cells: cells((r) => (r.burst.requests / settings.gets).toFixed(3)),
        },
      ],
    },
    {
      title: `Tiers: ${thousands(settings.tierReads)} sequential reads of one entity (cached copy present)`,
      rows: [
        { label: 'strong p50 / p99 (authority)', cells: cells((r) => p50p99(r.tiers.strong)) },
        { label: 'bounded p50 / p99 (cache hit)', cells: cells((r) => p50p99(r.tiers.bounded)) },
        { label: 'eventual p50 / p99 (cache hit)', cells: cells((r) => p50p99(r.tiers.eventual)) },
      ],
    },
    {
      title: 'Breaker: authority hangs, timeout 100 ms, no retries, volume 5, reset 500 ms',
      rows: [
        { label: 'call while closed, failing (p50)', cells: [ms(b.closedFailingMs.p50), ''] },
        { label: 'call while open (p50 / p99)', cells: [p50p99(b.openMs), ''] },
        { label: 'requests sent while open', cells: [String(b.requestsWhileOpen), ''] },
        { label: 'authority back → first success', cells: [ms(b.recoveryMs), ''] },
      ],
    },
  ];
}

export const pullBenchmark: Benchmark = {
  description:
    'pull client against a real read API: Zipf burst with and without coalescing, tier latency, breaker',
  async run(context: BenchContext): Promise<BenchReport> {
    const settings: Settings = {
      keys: 1_000,
      zipfExponent: 1.1,
      callers: 64,
      gets: context.quick ? 2_000 : 40_000,
      readerDelayMs: 2,
      tierReads: context.quick ? 500 : 5_000,
    };
    const keys = zipfKeys(settings.keys, settings.zipfExponent, settings.gets, seeded(42));
    const runs: Run[] = [];
    for (const coalesce of [true, false]) {
      const label = coalesce ? 'coalescing on' : 'coalescing off';
      progress(`pull: ${label}: burst of ${settings.gets} gets`);
      const authority = await startAuthority(settings.keys, settings.readerDelayMs);
      const client = createPullClient({
        baseUrl: authority.baseUrl,
        consumer: 'bench',
        coalesce,
        maxConcurrent: 16,
        maxQueued: 10_000,
      });
      try {
        const b = await burst(authority, client, keys, settings.callers);
        progress(`pull: ${label}: tiers`);
        const t = await tiers(client, settings.tierReads);
        runs.push({ label, burst: b, tiers: t });
      } finally {
        client.close();
        authority.app.server.closeAllConnections();
        await authority.app.close();
      }
    }
    progress('pull: breaker');
    const b = await breaker(context.quick);
    const [on, off] = runs as [Run, Run];
    const targets: TargetCheck[] = [
      {
        name: 'coalescing saves requests under a Zipf burst',
        on: on.label,
        target: '≤ 50 % of the requests without it',
        value: `${((100 * on.burst.requests) / off.burst.requests).toFixed(0)} %`,
        met: on.burst.requests <= off.burst.requests / 2,
      },
      {
        name: 'an open breaker sends nothing',
        on: 'breaker',
        target: '0 requests',
        value: String(b.requestsWhileOpen),
        met: b.requestsWhileOpen === 0,
      },
      {
        name: 'an open breaker fails fast',
        on: 'breaker',
        target: 'p99 ≤ 5 ms',
        value: ms(b.openMs.p99),
        met: b.openMs.p99 <= 5,
      },
    ];
    return {
      name: 'pull',
      title: 'Pull client: coalescing under skew, tiers, circuit breaker',
      figures: {
        settings,
        runs: runs.map((r) => ({
          label: r.label,
          getsPerSecond: round(r.burst.getsPerSecond),
          requests: r.burst.requests,
          latencyMs: r.burst.latencyMs,
          tiers: r.tiers,
        })),
        breaker: b,
      },
      table: { columns: runs.map((r) => r.label), sections: table(settings, runs, b) },
      targets,
      method: [
        'Authority: `authorityReadApi` on Fastify, listening on 127.0.0.1 in the benchmark process (client and server share the 2 cores); its reader answers from memory after a 2 ms timer standing in for its own query. No database is used (the `Databases` line only names what the harness opened).',
        'Burst: 64 callers take keys from one sequence of Zipf-distributed ranks (s = 1.1 over 1,000 keys, seeded, the same for both runs) and each issues `get(type, id)` (strong) one after another; the client has a bulkhead of 16 and its default timeout, retries and breaker. "Requests at the authority" are counted by an onRequest hook on the server.',
        'Coalescing off is the client option `coalesce: false`: each call sends its own request.',
        'Tiers: after one fetch of the hottest key, sequential reads of it: strong goes to the authority each time (If-None-Match → 304), bounded (maxStalenessMs 60 s) and eventual are served by the cached copy.',
        'Breaker: the reader sleeps 10 s, the client times out at 100 ms without retries; opossum opens after 5 calls at ≥ 50 % failures. Then the reader answers at once and the client calls every 10 ms until a call succeeds (after the 500 ms reset timeout, one trial call closes the breaker).',
      ],
    };
  },
};

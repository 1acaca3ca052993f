/**
 * `npm run bench -- wait`: the cost of many concurrent `waitFor` calls — 5,000 waiters on 5,000
 * entities sharing one LISTEN. Measures what registering them costs (time, CPU, heap, RSS), that
 * idle waiters cost no CPU (no polling), and how fast they all resolve as stages are recorded.
 */
import type { Benchmark } from './lib/benchmark.js';
import type { BenchReport, TableSection } from './lib/report.js';
import type { Target } from './lib/targets.js';
import { createProducer, registerAuthority } from '../src/producer/index.js';
import { createLedgerWaiter, recordStages, type StageRecord, type WaitOutcome } from '../src/ledger/index.js';
import { quoteIdentifier } from '../src/store/identifier.js';

const authority = 'customer-profile';
const idleMs = 2_000;

interface Figures {
  readonly target: string;
  readonly waiters: number;
  readonly registerMs: number;
  readonly registerCpuMs: number;
  readonly heapPerWaiterBytes: number;
  readonly rssDeltaMiB: number;
  readonly idleCpuMs: number;
  readonly resolveMs: number;
  readonly resolveCpuMs: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const settle = async () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));
};

async function measure(target: Target, count: number): Promise<Figures> {
  const { schema, drop } = await target.freshSchema('bench_wait');
  const db = await target.connect(10, 'bench-wait');
  try {
    const s = quoteIdentifier(schema);
    await registerAuthority(db, { entityType: 'customer', context: authority }, schema);
    const producer = createProducer({ context: authority, schema, notify: false });
    for (let from = 0; from < count; from += 500) {
      await db.transaction(async (tx) => {
        for (let i = from; i < Math.min(count, from + 500); i++) {
          await producer.append(
            tx,
            { type: 'customer', id: `c-${i}` },
            { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
          );
        }
      });
    }
    const waiter = createLedgerWaiter({ db, schema, maxTimeoutMs: 600_000 });
    await settle();
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    const cpu0 = cpuMs();
    const t0 = performance.now();
    const waits: Promise<WaitOutcome>[] = [];
    for (let i = 0; i < count; i++) {
      waits.push(
        waiter.waitFor({
          entity: { type: 'customer', id: `c-${i}` },
          version: 1,
          stage: 'applied',
          context: 'billing',
          timeoutMs: 600_000,
        }),
      );
    }
    // Registered = listening and first look done (2 reads each): until the process goes quiet.
    while (waiter.waiting < count) await new Promise((resolve) => setTimeout(resolve, 5));
    for (;;) {
      const before = cpuMs();
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (cpuMs() - before < 25) break;
    }
    const registerMs = performance.now() - t0;
    const registerCpuMs = cpuMs() - cpu0;
    await settle();
    const heap1 = process.memoryUsage().heapUsed;
    const rss1 = process.memoryUsage().rss;
    const cpuIdle0 = cpuMs();
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const idleCpuMs = cpuMs() - cpuIdle0;

    const cpu2 = cpuMs();
    const t2 = performance.now();
    for (let from = 0; from < count; from += 500) {
      const records: StageRecord[] = [];
      for (let i = from; i < Math.min(count, from + 500); i++) {
        records.push({
          entityType: 'customer',
          entityId: `c-${i}`,
          version: 1,
          context: 'billing',
          stage: 'applied' as const,
          authority,
        });
      }
      await db.transaction((tx) => recordStages(tx, s, records));
    }
    await Promise.all(waits);
    const resolveMs = performance.now() - t2;
    const resolveCpuMs = cpuMs() - cpu2;
    return {
      target: target.label,
      waiters: count,
      registerMs,
      registerCpuMs,
      heapPerWaiterBytes: Math.max(0, (heap1 - heap0) / count),
      rssDeltaMiB: (rss1 - rss0) / 2 ** 20,
      idleCpuMs,
      resolveMs,
      resolveCpuMs,
    };
  } finally {
    await db.close();
    await drop();
  }
}

export const waitBenchmark: Benchmark = {
  description: '5,000 concurrent ledger waiters: memory, CPU idle and while resolving',
  async run({ quick, targets }): Promise<BenchReport> {
    const count = quick ? 500 : 5_000;
    const figures: Figures[] = [];
    for (const target of targets) figures.push(await measure(target, count));
    const row = (label: string, cell: (f: Figures) => string) => ({ label, cells: figures.map(cell) });
    const sections: TableSection[] = [
      {
        title: `${count} waiters, one entity each, one shared LISTEN`,
        rows: [
          row('register all (ms)', (f) => f.registerMs.toFixed(0)),
          row('CPU to register (ms)', (f) => f.registerCpuMs.toFixed(0)),
          row('heap per waiter (bytes)', (f) => f.heapPerWaiterBytes.toFixed(0)),
          row('RSS growth (MiB)', (f) => f.rssDeltaMiB.toFixed(1)),
          row(`CPU while idle ${idleMs / 1000} s (ms)`, (f) => f.idleCpuMs.toFixed(0)),
          row('record stages + all resolved (ms)', (f) => f.resolveMs.toFixed(0)),
          row('CPU to resolve (ms)', (f) => f.resolveCpuMs.toFixed(0)),
        ],
      },
    ];
    return {
      name: 'wait',
      title: 'Ledger waiters (waitFor)',
      figures,
      table: { columns: figures.map((f) => f.target), sections },
      targets: figures.map((f) => ({
        name: 'idle waiters cost no CPU (no polling)',
        on: f.target,
        target: `< 50 ms CPU in ${idleMs / 1000} s`,
        value: `${f.idleCpuMs.toFixed(0)} ms`,
        met: f.idleCpuMs < 50,
      })),
      method: [
        `${count} entities accepted, then ${count} waitFor(applied@billing) calls started at once in one process; "register" ends when every waiter listens and has looked once (2 ledger reads each).`,
        'Heap and RSS are measured after a GC (node --expose-gc when available) before and after registering.',
        `Idle: CPU of the process over ${idleMs / 1000} s with every waiter pending. Resolve: applied stages recorded 500 per transaction (one NOTIFY each), until every waiter resolved.`,
      ],
    };
  },
};

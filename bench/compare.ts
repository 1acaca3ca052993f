import type { Benchmark } from './lib/benchmark.js';
import { compareReport } from './compare/report.js';
import { compareSettings, runComparison } from './compare/run.js';

export const compareBenchmark: Benchmark = {
  description:
    'Tidemark (postgres-log, nats-jetstream) vs a naive polling outbox, Emmett and pg-boss: same workload, same server; throughput, commit→applied latency, events lost and duplicated',
  async run({ quick, targets, events }) {
    const target = targets.find((t) => t.key === 'postgres');
    if (!target?.connectionString) {
      throw new Error(
        'compare runs on server PostgreSQL only: pass --db postgres (and --pg <url> if not the default)',
      );
    }
    const figures = await runComparison(
      { ...target, connectionString: target.connectionString },
      compareSettings(events, quick),
    );
    return compareReport(figures);
  },
};

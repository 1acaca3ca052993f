/**
 * `npm run bench -- relay`: what the outbox costs a business transaction, how fast the relay
 * drains a backlog, and how long a committed change takes to reach a consumer — on each database.
 */
import { createPostgresLog } from '../src/backbone/index.js';
import type { BenchContext, Benchmark } from './lib/benchmark.js';
import { measureLatency } from './lib/latency.js';
import { progress } from './lib/log.js';
import type { BenchReport } from './lib/report.js';
import type { Target } from './lib/targets.js';
import { relayChecks, relayMethod, relayTable, type RelayFigures } from './relay/report.js';
import { relaySettings } from './relay/settings.js';
import { measureThroughput } from './relay/throughput.js';
import { measureTransactions } from './relay/transactions.js';

async function runOn(target: Target, quick: boolean): Promise<RelayFigures> {
  const settings = relaySettings(target, quick);
  progress(`${target.label}: (i) business transactions, ${settings.clients} client(s)`);
  const transactions = await measureTransactions(target, settings);
  progress(`${target.label}: (ii) relay throughput, ${settings.events} events`);
  const throughput = await measureThroughput(target, settings);
  progress(`${target.label}: (iii) commit→applied latency`);
  const latency = await measureLatency({
    target,
    schemaPrefix: 'lat',
    label: target.label,
    settings,
    backbone: (schema) => ({
      open: (db) => createPostgresLog({ db, schema, partitions: 16 }),
      dispose: async () => {},
    }),
    cutAtLog: true,
  });
  return { database: target.label, settings, transactions, throughput, latency };
}

export const relayBenchmark: Benchmark = {
  description:
    'outbox append cost, relay throughput and commit→applied latency (PGlite and server PostgreSQL)',
  async run(context: BenchContext): Promise<BenchReport> {
    const runs: RelayFigures[] = [];
    for (const target of context.targets) runs.push(await runOn(target, context.quick));
    return {
      name: 'relay',
      title: 'Outbox append, relay throughput, commit→applied latency',
      figures: runs,
      table: { columns: runs.map((r) => r.database), sections: relayTable(runs) },
      targets: relayChecks(runs),
      method: relayMethod,
    };
  },
};

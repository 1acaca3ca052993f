/**
 * `npm run bench -- backbone`: the relay's drain rate, commit→applied latency and consumer
 * group apply throughput, side by side on postgres-log, nats-jetstream, rabbitmq and redis-streams
 * (server PostgreSQL).
 */
import { backboneChecks, backboneMethod, backboneTable, type BackboneFigures } from './backbone/report.js';
import { measureApply } from './backbone/apply.js';
import { measureDrain } from './backbone/drain.js';
import { backboneKinds, brokerAddresses, type BackboneKind } from './backbone/kinds.js';
import { backboneSettings } from './backbone/settings.js';
import type { BenchContext, Benchmark } from './lib/benchmark.js';
import { measureLatency } from './lib/latency.js';
import { progress } from './lib/log.js';
import type { BenchReport } from './lib/report.js';
import type { Target } from './lib/targets.js';

async function runOn(target: Target, kind: BackboneKind, quick: boolean): Promise<BackboneFigures> {
  const settings = backboneSettings(quick);
  progress(`${kind.key}: (a) relay throughput, ${settings.events} events`);
  const drain = await measureDrain(target, kind, settings);
  progress(`${kind.key}: (b) commit→applied latency`);
  const latency = await measureLatency({
    target,
    schemaPrefix: 'bblat',
    label: kind.key,
    settings,
    backbone: (schema) => kind.create(schema, settings.partitions, ['projection']),
    cutAtLog: false,
  });
  progress(`${kind.key}: (c) consumer apply throughput, ${settings.instances.join(' vs ')} instances`);
  const apply = await measureApply(target, kind, settings);
  return { backbone: kind.key, settings, drain, latency, apply };
}

export const backboneBenchmark: Benchmark = {
  description:
    'relay throughput, commit→applied latency and consumer-group apply throughput: postgres-log, nats-jetstream, rabbitmq, redis-streams (server PostgreSQL)',
  async run(context: BenchContext): Promise<BenchReport> {
    const target = context.targets.find((t) => t.key === 'postgres');
    if (!target) throw new Error('bench backbone runs on server PostgreSQL: include postgres in --db');
    progress(`backbone: ${target.label}, ${brokerAddresses}`);
    const runs: BackboneFigures[] = [];
    for (const kind of backboneKinds) runs.push(await runOn(target, kind, context.quick));
    return {
      name: 'backbone',
      title:
        'postgres-log, nats-jetstream, rabbitmq, redis-streams: relay throughput, commit→applied latency, consumer groups',
      figures: runs,
      table: { columns: runs.map((r) => r.backbone), sections: backboneTable(runs) },
      targets: backboneChecks(runs),
      method: backboneMethod,
    };
  },
};

/** How the backbone benchmark's figures are shown and judged. */
import type { LatencyFigures } from '../lib/latency.js';
import { drainCheck, int, latencyCheck, latencySection } from '../lib/latency-report.js';
import type { TableSection, TargetCheck } from '../lib/report.js';
import type { ApplyFigures } from './apply.js';
import type { DrainFigures } from './drain.js';
import type { BackboneKey } from './kinds.js';
import type { BackboneSettings } from './settings.js';

/** Everything measured on one backbone (all on the same server PostgreSQL). */
export interface BackboneFigures {
  readonly backbone: BackboneKey;
  readonly settings: BackboneSettings;
  readonly drain: DrainFigures;
  readonly latency: LatencyFigures;
  readonly apply: ApplyFigures;
}

export function backboneTable(runs: readonly BackboneFigures[]): TableSection[] {
  const row = (label: string, cell: (r: BackboneFigures) => string) => ({ label, cells: runs.map(cell) });
  const instanceCounts = runs[0]?.settings.instances ?? [];
  const apply = (r: BackboneFigures, n: number) => r.apply.runs.find((x) => x.instances === n);
  const first = instanceCounts[0];
  const lastCount = instanceCounts[instanceCounts.length - 1];
  return [
    {
      title: '(a) relay draining a backlog into the backbone',
      rows: [
        row('events (batch size)', (r) => `${int(r.drain.events)} (${r.drain.batchSize})`),
        row('in the backbone afterwards', (r) => `${int(r.drain.moved)} / ${int(r.drain.events)}`),
        row('seconds', (r) => r.drain.seconds.toFixed(2)),
        row('relay, events/s', (r) => int(r.drain.eventsPerSec)),
      ],
    },
    latencySection('(b) commit → applied in a consumer', runs, (r) => r.latency),
    {
      title: '(c) consumer group applying a backlog',
      rows: [
        row('events in the backbone', (r) => int(r.apply.events)),
        ...instanceCounts.flatMap((n) => [
          row(`${n} instance${n === 1 ? '' : 's'}, events/s`, (r) => {
            const a = apply(r, n);
            return a ? int(a.eventsPerSec) : '—';
          }),
          row(`${n} instance${n === 1 ? '' : 's'}, applied per instance`, (r) => {
            const a = apply(r, n);
            return a ? a.perInstance.map(int).join(' + ') : '—';
          }),
        ]),
        row(`${lastCount} vs ${first} instance(s)`, (r) => {
          const a = first === undefined ? undefined : apply(r, first);
          const b = lastCount === undefined ? undefined : apply(r, lastCount);
          return a && b ? `× ${(b.eventsPerSec / a.eventsPerSec).toFixed(2)}` : '—';
        }),
      ],
    },
  ];
}

export function backboneChecks(runs: readonly BackboneFigures[]): TargetCheck[] {
  return runs.flatMap((r) => [
    drainCheck(r.backbone, r.drain.moved, r.drain.events, 'backbone'),
    latencyCheck(r.backbone, r.latency),
    ...r.apply.runs.map((a) => ({
      name: `consumer group of ${a.instances} applies every event once`,
      on: r.backbone,
      target: 'all events applied',
      value: `${int(a.applied)} / ${int(r.apply.events)}`,
      met: a.applied === r.apply.events,
    })),
  ]);
}

export const backboneMethod = [
  'Server PostgreSQL only (the Databases line; a fresh schema per measurement, dropped afterwards). Brokers: NATS ' +
    'JetStream at TIDEMARK_BENCH_NATS (default 127.0.0.1:4222; one stream per measurement, file storage); RabbitMQ at ' +
    'TIDEMARK_BENCH_RABBITMQ (default amqp://guest:guest@127.0.0.1:5672; quorum queues, publisher confirms, one ' +
    'exchange prefix per measurement); Redis at TIDEMARK_BENCH_REDIS (default redis://127.0.0.1:6379/0; one key ' +
    'prefix per measurement, the server as configured: here no fsync, see docs/backbones.md). Every name is unique ' +
    'to the measurement and deleted afterwards. Every backbone has 12 partitions. A PGlite target opened by the ' +
    'harness is not used. Columns are backbones; PostgreSQL, the brokers and this Node process share the machine.',
  '(a) N events are pre-appended through producer.append (100 per transaction, 4 writers) and VACUUM ANALYZEd; ' +
    'then createRelay(...).drain() (batch 1,000) into the backbone is timed. The count afterwards is taken from ' +
    'the backbone (log rows; NATS stream message count; messages waiting in the queues of a group declared ' +
    'beforehand for RabbitMQ, which keeps no log; XLEN of the Redis partition streams), not from drain(). ' +
    'postgres-log lives in the outbox’s database, so the relay takes its in-database copy path; the brokers get ' +
    'every event over the wire.',
  '(b) As `bench relay` (iii): an open-loop paced producer (4 connections) appends one state event per ' +
    'transaction (1,000 entities round robin) after a warm-up; a started relay (LISTEN/NOTIFY) and a started ' +
    'consumer (upsert into a projection table), each with its own pool and backbone instance, run alongside. ' +
    'Latency = consumer onOutcome(applied) minus the time the producer’s transaction resolved, same process clock.',
  '(c) M events are pre-appended and drained into the backbone; then per instance count a new consumer group ' +
    '(its own projection table, upsert per event) is created as that many createConsumer instances in this ' +
    'process, each with its own pool (10 connections) and backbone instance, started together. Throughput = ' +
    'events applied ÷ (last applied − first start()), so it includes joining the group. Broker members use a ' +
    '3 s lease / member TTL and 0.5 s heartbeat; RabbitMQ declares each group’s queues before the backlog is ' +
    'published. The 1-instance group runs first, on the same data. Defaults ' +
    'otherwise (partitionConcurrency 4, keyConcurrency 8, batchApply on).',
];

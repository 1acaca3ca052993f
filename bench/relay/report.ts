/** How the relay benchmark's figures are shown and judged. */
import type { LatencyFigures } from '../lib/latency.js';
import { drainCheck, int, latencyCheck, latencySection } from '../lib/latency-report.js';
import type { TableSection, TargetCheck } from '../lib/report.js';
import type { RelaySettings } from './settings.js';
import type { ThroughputFigures } from './throughput.js';
import type { TransactionFigures } from './transactions.js';

/** Everything measured on one database. */
export interface RelayFigures {
  readonly database: string;
  readonly settings: RelaySettings;
  readonly transactions: TransactionFigures;
  readonly throughput: ThroughputFigures;
  readonly latency: LatencyFigures;
}

/** The targets of issue 2 item 9; DESIGN.md asks for 5 % on the append, the issue accepts 10 %. */
const limits = { overheadPct: 10, relayRatio: 0.5 };

const pct = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)} %`;

export function relayTable(runs: readonly RelayFigures[]): TableSection[] {
  const row = (label: string, cell: (r: RelayFigures) => string) => ({ label, cells: runs.map(cell) });
  return [
    {
      title: '(i) business transaction (UPDATE one row)',
      rows: [
        row('clients', (r) => String(r.transactions.clients)),
        row('bare UPDATE, tps', (r) => int(r.transactions.tps.bare)),
        row('+ hand-written outbox INSERT, tps', (r) => int(r.transactions.tps.handWritten)),
        row('+ Tidemark append, tps', (r) => int(r.transactions.tps.tidemark)),
        row('+ Tidemark append, caller-versioned, tps', (r) =>
          int(r.transactions.tps.tidemarkCallerVersioned),
        ),
        row('hand-written vs bare (time/tx)', (r) => pct(r.transactions.overheadPct.handWrittenVsBare)),
        row('Tidemark vs bare (time/tx)', (r) => pct(r.transactions.overheadPct.tidemarkVsBare)),
        row('Tidemark vs hand-written (≤ 10 %)', (r) =>
          pct(r.transactions.overheadPct.tidemarkVsHandWritten),
        ),
        row('caller-versioned vs hand-written', (r) =>
          pct(r.transactions.overheadPct.callerVersionedVsHandWritten),
        ),
      ],
    },
    {
      title: '(ii) draining a backlog into postgres-log',
      rows: [
        row('events (batch size)', (r) => `${int(r.throughput.events)} (${r.throughput.batchSize})`),
        row('outbox row, bytes', (r) => int(r.throughput.avgRowBytes)),
        row('moved by the relay', (r) => `${int(r.throughput.relay.moved)} / ${int(r.throughput.events)}`),
        row('relay, events/s', (r) => int(r.throughput.relay.eventsPerSec)),
        row('raw INSERT…SELECT copy, rows/s', (r) => int(r.throughput.rawCopy.rowsPerSec)),
        row('relay / raw (≥ 50 %)', (r) => `${(r.throughput.ratio * 100).toFixed(0)} %`),
      ],
    },
    latencySection('(iii) commit → applied in a consumer', runs, (r) => r.latency),
  ];
}

export function relayChecks(runs: readonly RelayFigures[]): TargetCheck[] {
  return runs.flatMap((r) => [
    {
      name: 'Tidemark append overhead vs hand-written outbox INSERT',
      on: r.database,
      target: `≤ ${limits.overheadPct} %`,
      value: pct(r.transactions.overheadPct.tidemarkVsHandWritten),
      met: r.transactions.overheadPct.tidemarkVsHandWritten <= limits.overheadPct,
    },
    drainCheck(r.database, r.throughput.relay.moved, r.throughput.events, 'log'),
    {
      name: 'relay throughput vs raw copy',
      on: r.database,
      target: `≥ ${limits.relayRatio * 100} %`,
      value: `${(r.throughput.ratio * 100).toFixed(0)} %`,
      met: r.throughput.ratio >= limits.relayRatio,
    },
    latencyCheck(r.database, r.latency),
  ]);
}

export const relayMethod = [
  '(i) Each transaction is BEGIN; UPDATE one of 10,000 rows; [extra statement]; COMMIT through the same Db. ' +
    'Server PostgreSQL: 4 clients, each on its own pooled connection; PGlite: 1 client (it has one connection). ' +
    'Variants take turns in rounds (6 on server PostgreSQL, 3 on PGlite) after an unmeasured warm-up. Overhead = extra time per transaction: ' +
    '(tps of the reference ÷ tps of the variant − 1). Hand-written floor: INSERT of a ~200-byte row into a ' +
    'bigserial-keyed table with one index. Tidemark: producer.append of a state event (NOTIFY on, no expectedVersion; ' +
    'Tidemark keeps the version row). Caller-versioned: the same with { version } taken from the UPDATE … RETURNING, ' +
    'on rows no other variant touches. The target applies to the default append.',
  '(ii) N events are pre-appended through producer.append (100 per transaction) and VACUUM ANALYZEd. Raw copy: ' +
    'keyset-paged `INSERT INTO copy SELECT * FROM outbox … LIMIT batch`, one transaction per batch, into a table with ' +
    'the outbox columns and its (txid, position) key. Relay: createRelay(...).drain() into createPostgresLog (16 partitions).',
  '(iii) An open-loop paced producer appends one state event per transaction (1,000 entities round robin) for the ' +
    'stated time after 1 s of warm-up; a started relay (LISTEN/NOTIFY) and a started consumer (upsert into a ' +
    'projection table), each on its own pool, run alongside. Latency = time of the consumer’s onOutcome(applied) ' +
    'minus the time the producer’s transaction resolved, both from the same process clock. The path is cut where ' +
    'the relay inserts into the log (its clock_timestamp()), and the bench process’s CPU and event-loop delay are ' +
    'reported, since producer, relay and consumer share that one Node process.',
];

/**
 * The metric table: every metric Tidemark exposes, with its type, labels and help text.
 * `createMetrics` builds the metrics from it, and `docs/metrics.md` documents each row (a test
 * keeps the two in step). Names follow the Prometheus conventions: a `tidemark_` prefix, base
 * units (seconds), `_total` on counters, and label sets that stay small.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDefinition {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
}

/** Propagation latency buckets, in seconds: 1 ms to 60 s. */
export const latencyBuckets: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);

export const metricDefinitions = {
  outboxBacklog: {
    name: 'tidemark_outbox_backlog',
    type: 'gauge',
    help: 'Committed outbox rows after the relay cursor, not yet relayed to the backbone.',
    labelNames: ['relay'],
  },
  relayRelayed: {
    name: 'tidemark_relay_relayed_total',
    type: 'counter',
    help: "Outbox rows relayed to the backbone under this relay cursor, all instances together (read from the relay's checkpoint).",
    labelNames: ['relay'],
  },
  relayOldestOpenTransaction: {
    name: 'tidemark_relay_oldest_open_transaction_seconds',
    type: 'gauge',
    help: 'Age of the oldest open transaction that has a transaction id: while it is open, later commits cannot be relayed. 0 when there is none, and always 0 on PGlite.',
    labelNames: ['relay'],
  },
  relayHorizonAge: {
    name: 'tidemark_relay_horizon_age_seconds',
    type: 'gauge',
    help: "How long an open transaction has held the relay's read horizon back while committed outbox rows wait behind it; 0 when nothing waits, and always 0 on PGlite.",
    labelNames: ['relay'],
  },
  consumerStalled: {
    name: 'tidemark_consumer_stalled',
    type: 'gauge',
    help: 'Whether a consumer has work (a delivered batch in hand) but finished no event within its stall threshold: 1 stalled, 0 not.',
    labelNames: ['consumer'],
  },
  consumerEvents: {
    name: 'tidemark_consumer_events_total',
    type: 'counter',
    help: 'Events a consumer finished with, by outcome: applied, duplicate, held, ignored, dead-lettered or parked.',
    labelNames: ['consumer', 'outcome'],
  },
  propagationLatency: {
    name: 'tidemark_propagation_latency_seconds',
    type: 'histogram',
    help: 'Time from the authority accepting a change to its effect committing in the consumer (applied events only).',
    labelNames: ['consumer'],
  },
  readinessLag: {
    name: 'tidemark_readiness_lag_seconds',
    type: 'histogram',
    help: 'Time from the authority accepting a change to a business decision being able to use it (every requirement met and its cut-off passed), per decision; observed once per version when the ledger first finds it ready.',
    labelNames: ['decision'],
  },
  consumerLag: {
    name: 'tidemark_consumer_lag_events',
    type: 'gauge',
    help: "Events in the postgres-log backbone after the consumer group's committed offset, per partition.",
    labelNames: ['group', 'partition'],
  },
  consumerHeld: {
    name: 'tidemark_consumer_held_events',
    type: 'gauge',
    help: 'Domain events a consumer holds back because an earlier version of their entity has not arrived yet.',
    labelNames: ['consumer'],
  },
  consumerGapHeals: {
    name: 'tidemark_consumer_gap_heals_total',
    type: 'counter',
    help: 'Attempts to heal a version gap by pulling the entity from its authority, by result: healed, not-found, failed or overtaken.',
    labelNames: ['consumer', 'result'],
  },
  dlqMessages: {
    name: 'tidemark_dlq_messages',
    type: 'gauge',
    help: 'Active dead letters by status: open (the head of its key, awaiting an operator or released for retry) or parked (waiting behind a head of the same key).',
    labelNames: ['consumer', 'status'],
  },
  parkedKeys: {
    name: 'tidemark_parked_keys',
    type: 'gauge',
    help: 'Partition keys stopped by a dead letter: their later events wait until an operator retries, edits or skips the head.',
    labelNames: ['consumer'],
  },
  reconMismatches: {
    name: 'tidemark_recon_mismatches',
    type: 'gauge',
    help: "Differences the last reconciliation run of a flow found between the authority and the consumer's copy, by class: missing, stale, orphan or divergent.",
    labelNames: ['flow', 'class'],
  },
  reconRunDuration: {
    name: 'tidemark_recon_run_duration_seconds',
    type: 'histogram',
    help: 'Duration of reconciliation runs, comparison and repairs together.',
    labelNames: ['flow'],
  },
  cdcLag: {
    name: 'tidemark_cdc_lag_bytes',
    type: 'gauge',
    help: "WAL bytes a CDC capture's replication slot retains on the source: written since the last position the capture confirmed durable in the outbox.",
    labelNames: ['capture'],
  },
  collectorErrors: {
    name: 'tidemark_collector_errors_total',
    type: 'counter',
    help: 'Scrape-time refreshes that failed (reason="error") or ran past their timeout (reason="timeout"); the gauges they feed keep their last values.',
    labelNames: ['collector', 'reason'],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof metricDefinitions;

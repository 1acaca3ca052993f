import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TidemarkError } from '../errors.js';
import { latencyBuckets, metricDefinitions, type MetricKey } from './definitions.js';

/**
 * Typed handles on Tidemark's metrics. Push-style metrics (consumer outcomes, latency) are fed
 * by {@link observeConsumer}; pull-style gauges are refreshed at scrape time by the collectors
 * (`registerRelayCollector` and friends).
 */
export interface Metrics {
  /** The registry the metrics live on; serve `await registry.metrics()` at `/metrics`. */
  readonly registry: Registry;
  readonly outboxBacklog: Gauge<'relay'>;
  readonly relayRelayed: Counter<'relay'>;
  readonly relayOldestOpenTransaction: Gauge<'relay'>;
  readonly relayHorizonAge: Gauge<'relay'>;
  readonly consumerStalled: Gauge<'consumer'>;
  readonly consumerEvents: Counter<'consumer' | 'outcome'>;
  readonly propagationLatency: Histogram<'consumer'>;
  readonly readinessLag: Histogram<'decision'>;
  readonly consumerLag: Gauge<'group' | 'partition'>;
  readonly consumerHeld: Gauge<'consumer'>;
  readonly consumerGapHeals: Counter<'consumer' | 'result'>;
  readonly dlqMessages: Gauge<'consumer' | 'status'>;
  readonly parkedKeys: Gauge<'consumer'>;
  readonly cdcLag: Gauge<'capture'>;
  readonly collectorErrors: Counter<'collector' | 'reason'>;
  readonly reconMismatches: Gauge<'flow' | 'class'>;
  readonly reconRunDuration: Histogram<'flow'>;
}

export interface MetricsOptions {
  /**
   * Registry to register on (default: a new one). Never prom-client's global default registry
   * unless you pass it yourself, so several runtimes or tests in one process do not collide.
   */
  readonly registry?: Registry;
}

/**
 * A scrape-time data source: `run()` refreshes the gauges it feeds and never rejects (a
 * failure is counted in `tidemark_collector_errors_total`).
 */
export interface Source {
  readonly feeds: ReadonlySet<MetricKey>;
  run(): Promise<void>;
}

/** The sources registered on one `Metrics`; kept out of the public handle. */
const sourcesOf = new WeakMap<Metrics, Set<Source>>();

export function sourcesFor(metrics: Metrics): Set<Source> {
  const sources = sourcesOf.get(metrics);
  if (!sources) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'collectors need the object returned by createMetrics(); got something else',
    );
  }
  return sources;
}

/**
 * Creates Tidemark's metrics on `options.registry` or a new registry.
 *
 * @example
 * const metrics = createMetrics();
 * const consumer = createConsumer({ ...options, onOutcome: observeConsumer(metrics, 'billing') });
 * registerRelayCollector(metrics, relay);
 * // GET /metrics → await metrics.registry.metrics()
 * @throws TidemarkError TM_INVALID_ARGUMENT when the registry already holds a Tidemark metric.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  for (const definition of Object.values(metricDefinitions)) {
    if (registry.getSingleMetric(definition.name)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `the registry already has a metric named ${definition.name}; call createMetrics() once per ` +
          'registry and share the returned handles',
        { context: { metric: definition.name } },
      );
    }
  }
  const sources = new Set<Source>();
  /** Runs the sources feeding `key`; those feeding several gauges run once per scrape (see collectors). */
  const collectFor = (key: MetricKey) => async () => {
    const feeding = [...sources].filter((source) => source.feeds.has(key));
    if (feeding.length > 0) await Promise.all(feeding.map((source) => source.run()));
  };
  // The error counter waits for every source, so a scrape reports its own failures.
  const collectAll = async () => {
    if (sources.size > 0) await Promise.all([...sources].map((source) => source.run()));
  };
  const registers = [registry];
  const d = metricDefinitions;
  const gauge = <K extends MetricKey, L extends string>(key: K, labelNames: readonly L[]) =>
    new Gauge<L>({ name: d[key].name, help: d[key].help, labelNames, registers, collect: collectFor(key) });

  const metrics: Metrics = Object.freeze({
    registry,
    outboxBacklog: gauge('outboxBacklog', d.outboxBacklog.labelNames),
    relayRelayed: new Counter({
      name: d.relayRelayed.name,
      help: d.relayRelayed.help,
      labelNames: d.relayRelayed.labelNames,
      registers,
      collect: collectFor('relayRelayed'),
    }),
    relayOldestOpenTransaction: gauge('relayOldestOpenTransaction', d.relayOldestOpenTransaction.labelNames),
    relayHorizonAge: gauge('relayHorizonAge', d.relayHorizonAge.labelNames),
    consumerStalled: gauge('consumerStalled', d.consumerStalled.labelNames),
    consumerEvents: new Counter({
      name: d.consumerEvents.name,
      help: d.consumerEvents.help,
      labelNames: d.consumerEvents.labelNames,
      registers,
    }),
    propagationLatency: new Histogram({
      name: d.propagationLatency.name,
      help: d.propagationLatency.help,
      labelNames: d.propagationLatency.labelNames,
      buckets: [...latencyBuckets],
      registers,
    }),
    readinessLag: new Histogram({
      name: d.readinessLag.name,
      help: d.readinessLag.help,
      labelNames: d.readinessLag.labelNames,
      // From seconds (a decision needing only a fast consumer) to weeks (a billing cycle).
      buckets: [0.1, 1, 10, 60, 600, 3_600, 21_600, 86_400, 604_800, 2_678_400],
      registers,
    }),
    consumerLag: gauge('consumerLag', d.consumerLag.labelNames),
    consumerHeld: gauge('consumerHeld', d.consumerHeld.labelNames),
    consumerGapHeals: new Counter({
      name: d.consumerGapHeals.name,
      help: d.consumerGapHeals.help,
      labelNames: d.consumerGapHeals.labelNames,
      registers,
    }),
    dlqMessages: gauge('dlqMessages', d.dlqMessages.labelNames),
    parkedKeys: gauge('parkedKeys', d.parkedKeys.labelNames),
    cdcLag: gauge('cdcLag', d.cdcLag.labelNames),
    reconMismatches: new Gauge({
      name: d.reconMismatches.name,
      help: d.reconMismatches.help,
      labelNames: d.reconMismatches.labelNames,
      registers,
    }),
    reconRunDuration: new Histogram({
      name: d.reconRunDuration.name,
      help: d.reconRunDuration.help,
      labelNames: d.reconRunDuration.labelNames,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers,
    }),
    collectorErrors: new Counter({
      name: d.collectorErrors.name,
      help: d.collectorErrors.help,
      labelNames: d.collectorErrors.labelNames,
      registers,
      collect: collectAll,
    }),
  });
  sourcesOf.set(metrics, sources);
  return metrics;
}

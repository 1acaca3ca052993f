import type { PartitionLag } from '../backbone/postgres-log/index.js';
import type { Consumer } from '../consumer/types.js';
import type { DeadLetterAdmin } from '../dlq/admin.js';
import { TidemarkError } from '../errors.js';
import type { Relay } from '../relay/relay.js';
import type { MetricKey } from './definitions.js';
import { sourcesFor, type Metrics, type Source } from './metrics.js';
import { consumerStall, defaultStallAfterMs } from './stall.js';

/** Value of the `collector` label of `tidemark_collector_errors_total`. */
export type CollectorName = 'relay' | 'group_lag' | 'dead_letters' | 'consumer' | 'cdc';

export interface CollectorOptions {
  /**
   * Longest a scrape waits for this collector (default 2000 ms). A slower refresh is counted
   * as a timeout and the scrape goes on with the gauges' last values; the refresh itself keeps
   * running, and the next scrape waits for it rather than starting another one.
   */
  readonly timeoutMs?: number;
  /** Told about each failed or timed-out refresh, e.g. to log it. */
  readonly onError?: (error: unknown, collector: CollectorName) => void;
}

/** Stops a collector and removes the series it reported. */
export type Unregister = () => void;

const defaultTimeoutMs = 2_000;

type Settled =
  { readonly ok: true } | { readonly ok: false; readonly timedOut: boolean; readonly error: unknown };

function within(work: Promise<void>, timeoutMs: number, collector: CollectorName): Promise<Settled> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve({
        ok: false,
        timedOut: true,
        error: new TidemarkError(
          'TM_SERVICE_UNREACHABLE',
          `the ${collector} metrics collector did not answer within ${timeoutMs} ms; ` +
            'its gauges keep their last values (is the database slow or unreachable?)',
          { context: { collector, timeoutMs } },
        ),
      });
    }, timeoutMs);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve({ ok: true });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ ok: false, timedOut: false, error });
      },
    );
  });
}

/**
 * Adds a scrape-time source to `metrics`. `refresh` reads its component and writes the gauges,
 * checking `active()` after each await so an unregistered collector writes nothing more.
 * The gauges a source feeds call `run()` together during one scrape and share one refresh.
 */
function addSource(
  metrics: Metrics,
  collector: CollectorName,
  feeds: readonly MetricKey[],
  options: CollectorOptions,
  refresh: (active: () => boolean) => Promise<void>,
  clear: () => void,
): Unregister {
  const sources = sourcesFor(metrics);
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `timeoutMs must be a positive number of milliseconds, got ${JSON.stringify(options.timeoutMs)}`,
    );
  }
  let active = true;
  let pending: Promise<void> | undefined; // the refresh in progress, until it settles
  let waiting: Promise<void> | undefined; // one bounded wait for it, shared by one scrape's gauges
  const isActive = () => active;

  const source: Source = {
    feeds: new Set(feeds),
    run() {
      if (waiting) return waiting;
      if (!pending) {
        const attempt = refresh(isActive);
        pending = attempt;
        const settle = () => {
          if (pending === attempt) pending = undefined;
        };
        attempt.then(settle, settle);
      }
      waiting = within(pending, timeoutMs, collector)
        .then((result) => {
          if (result.ok || !active) return;
          metrics.collectorErrors.inc({ collector, reason: result.timedOut ? 'timeout' : 'error' });
          try {
            options.onError?.(result.error, collector);
          } catch {
            // A failing error callback must not fail the scrape either.
          }
        })
        .finally(() => {
          waiting = undefined;
        });
      return waiting;
    },
  };
  sources.add(source);
  metrics.collectorErrors.inc({ collector, reason: 'error' }, 0);
  metrics.collectorErrors.inc({ collector, reason: 'timeout' }, 0);
  return () => {
    if (!active) return;
    active = false;
    sources.delete(source);
    clear();
  };
}

/**
 * Reports `relay.status()` at each scrape: `tidemark_outbox_backlog`,
 * `tidemark_relay_relayed_total` and `tidemark_relay_oldest_open_transaction_seconds`, labelled
 * with the relay's name.
 */
export function registerRelayCollector(
  metrics: Metrics,
  relay: Pick<Relay, 'name' | 'status'>,
  options: CollectorOptions = {},
): Unregister {
  const labels = { relay: relay.name };
  return addSource(
    metrics,
    'relay',
    ['outboxBacklog', 'relayRelayed', 'relayOldestOpenTransaction', 'relayHorizonAge'],
    options,
    async (active) => {
      const status = await relay.status();
      if (!active()) return;
      metrics.outboxBacklog.set(labels, status.backlog);
      // The count lives in the relay's checkpoint (shared by all its instances), so the
      // counter mirrors it rather than counting in this process.
      metrics.relayRelayed.remove(labels);
      metrics.relayRelayed.inc(labels, status.relayed);
      metrics.relayOldestOpenTransaction.set(labels, (status.oldestOpenTransaction?.ageMs ?? 0) / 1000);
      metrics.relayHorizonAge.set(labels, status.horizon?.ageSeconds ?? 0);
    },
    () => {
      metrics.outboxBacklog.remove(labels);
      metrics.relayRelayed.remove(labels);
      metrics.relayOldestOpenTransaction.remove(labels);
      metrics.relayHorizonAge.remove(labels);
    },
  );
}

/**
 * Reports `backbone.groupLag(group)` at each scrape as `tidemark_consumer_lag_events`, one
 * series per partition the group has a checkpoint for.
 */
export function registerGroupLagCollector(
  metrics: Metrics,
  backbone: { groupLag(group: string): Promise<readonly PartitionLag[]> },
  group: string,
  options: CollectorOptions = {},
): Unregister {
  if (typeof group !== 'string' || group === '') {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `group must be a consumer group name, got ${JSON.stringify(group)}`,
    );
  }
  let seen = new Set<string>();
  return addSource(
    metrics,
    'group_lag',
    ['consumerLag'],
    options,
    async (active) => {
      const lag = await backbone.groupLag(group);
      if (!active()) return;
      const now = new Set<string>();
      for (const p of lag) {
        const partition = String(p.partition);
        now.add(partition);
        metrics.consumerLag.set({ group, partition }, p.pending);
      }
      for (const partition of seen) if (!now.has(partition)) metrics.consumerLag.remove({ group, partition });
      seen = now;
    },
    () => {
      for (const partition of seen) metrics.consumerLag.remove({ group, partition });
    },
  );
}

/**
 * Reports `admin.counts()` at each scrape: `tidemark_dlq_messages{status="open"|"parked"}` and
 * `tidemark_parked_keys` per consumer. A consumer whose dead letters are all resolved keeps
 * reporting 0, so alerts on it resolve instead of going stale.
 */
export function registerDeadLetterCollector(
  metrics: Metrics,
  admin: Pick<DeadLetterAdmin, 'counts'>,
  options: CollectorOptions = {},
): Unregister {
  let seen = new Set<string>();
  const report = (consumer: string, open: number, parked: number, parkedKeys: number) => {
    metrics.dlqMessages.set({ consumer, status: 'open' }, open);
    metrics.dlqMessages.set({ consumer, status: 'parked' }, parked);
    metrics.parkedKeys.set({ consumer }, parkedKeys);
  };
  return addSource(
    metrics,
    'dead_letters',
    ['dlqMessages', 'parkedKeys'],
    options,
    async (active) => {
      const counts = await admin.counts();
      if (!active()) return;
      const now = new Set<string>();
      for (const c of counts) {
        now.add(c.consumer);
        report(c.consumer, c.open, c.parked, c.parkedKeys);
      }
      for (const consumer of seen) {
        if (now.has(consumer)) continue;
        now.add(consumer);
        report(consumer, 0, 0, 0);
      }
      seen = now;
    },
    () => {
      for (const consumer of seen) {
        metrics.dlqMessages.remove({ consumer, status: 'open' });
        metrics.dlqMessages.remove({ consumer, status: 'parked' });
        metrics.parkedKeys.remove({ consumer });
      }
    },
  );
}

/** Reports `consumer.heldCount()` at each scrape as `tidemark_consumer_held_events`. */
export function registerConsumerCollector(
  metrics: Metrics,
  consumer: Pick<Consumer, 'name' | 'heldCount'>,
  options: CollectorOptions = {},
): Unregister {
  const labels = { consumer: consumer.name };
  return addSource(
    metrics,
    'consumer',
    ['consumerHeld'],
    options,
    async (active) => {
      const held = await consumer.heldCount();
      if (active()) metrics.consumerHeld.set(labels, held);
    },
    () => metrics.consumerHeld.remove(labels),
  );
}

/**
 * Reports `tidemark_consumer_stalled` for an instance at each scrape: 1 while it has work in
 * hand but finished no event for `stallAfterMs` (default 60 s), else 0.
 */
export function registerConsumerStallCollector(
  metrics: Metrics,
  consumer: Pick<Consumer, 'name' | 'progress'>,
  options: CollectorOptions & { readonly stallAfterMs?: number } = {},
): Unregister {
  const stallAfterMs = options.stallAfterMs ?? defaultStallAfterMs;
  if (!consumer.progress) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `consumer '${consumer.name}' does not report progress(); pass a consumer made by createConsumer`,
    );
  }
  const progress = consumer.progress.bind(consumer);
  const labels = { consumer: consumer.name };
  return addSource(
    metrics,
    'consumer',
    ['consumerStalled'],
    options,
    async (active) => {
      const stall = consumerStall(consumer.name, progress(), stallAfterMs);
      if (active()) metrics.consumerStalled.set(labels, stall.stalled ? 1 : 0);
    },
    () => metrics.consumerStalled.remove(labels),
  );
}

/**
 * Reports a CDC capture's `status().lagBytes` at each scrape as `tidemark_cdc_lag_bytes`: the WAL
 * its replication slot retains on the source. A capture without a slot reports no series.
 */
export function registerCaptureLagCollector(
  metrics: Metrics,
  capture: { status(): Promise<{ readonly name: string; readonly lagBytes: number | undefined }> },
  options: CollectorOptions = {},
): Unregister {
  let reported: string | undefined;
  return addSource(
    metrics,
    'cdc',
    ['cdcLag'],
    options,
    async (active) => {
      const status = await capture.status();
      if (!active()) return;
      if (status.lagBytes === undefined) {
        if (reported !== undefined) metrics.cdcLag.remove({ capture: reported });
        reported = undefined;
        return;
      }
      reported = status.name;
      metrics.cdcLag.set({ capture: status.name }, status.lagBytes);
    },
    () => {
      if (reported !== undefined) metrics.cdcLag.remove({ capture: reported });
    },
  );
}

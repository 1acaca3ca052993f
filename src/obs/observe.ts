import type { Outcome, OutcomeKind } from '../consumer/types.js';
import { TidemarkError } from '../errors.js';
import type { Metrics } from './metrics.js';

// A record, so adding an outcome kind fails to compile until it is listed here.
const outcomeKinds = Object.keys({
  applied: true,
  duplicate: true,
  held: true,
  ignored: true,
  'dead-lettered': true,
  parked: true,
} satisfies Record<OutcomeKind, true>) as OutcomeKind[];

/**
 * An `onOutcome` callback for `createConsumer` that counts every outcome in
 * `tidemark_consumer_events_total` and observes `tidemark_propagation_latency_seconds` for
 * applied events. `consumer` should be the consumer's `name`. Every outcome's series starts at
 * 0, so `rate()` and `increase()` see the first event.
 *
 * @example
 * createConsumer({ name: 'billing', ..., onOutcome: observeConsumer(metrics, 'billing') });
 */
export function observeConsumer(metrics: Metrics, consumer: string): (outcome: Outcome) => void {
  if (typeof consumer !== 'string' || consumer === '') {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `observeConsumer needs the consumer's name, got ${JSON.stringify(consumer)}`,
    );
  }
  for (const outcome of outcomeKinds) metrics.consumerEvents.inc({ consumer, outcome }, 0);
  metrics.propagationLatency.zero({ consumer });
  return (outcome) => {
    metrics.consumerEvents.inc({ consumer, outcome: outcome.kind });
    if (outcome.kind === 'applied' && outcome.lagMs !== undefined && Number.isFinite(outcome.lagMs)) {
      metrics.propagationLatency.observe({ consumer }, Math.max(0, outcome.lagMs) / 1000);
    }
  };
}

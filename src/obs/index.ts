export { createMetrics, type Metrics, type MetricsOptions } from './metrics.js';
export {
  latencyBuckets,
  metricDefinitions,
  type MetricDefinition,
  type MetricKey,
  type MetricType,
} from './definitions.js';
export { observeConsumer } from './observe.js';
export { observeGapHeals } from './observe-gap-heals.js';
export {
  registerCaptureLagCollector,
  registerConsumerCollector,
  registerConsumerStallCollector,
  registerDeadLetterCollector,
  registerGroupLagCollector,
  registerRelayCollector,
  type CollectorName,
  type CollectorOptions,
  type Unregister,
} from './collectors.js';
export { consumerStall, defaultStallAfterMs, type ConsumerStall } from './stall.js';

export { createMetrics, type Metrics, type MetricsOptions } from './metrics.js';
export {
  latencyBuckets,
  metricDefinitions,
  type MetricDefinition,
  type MetricKey,
  type MetricType,
} from './definitions.js';
export { observeConsumer } from './observe.js';
export {
  registerConsumerCollector,
  registerDeadLetterCollector,
  registerGroupLagCollector,
  registerRelayCollector,
  type CollectorName,
  type CollectorOptions,
  type Unregister,
} from './collectors.js';

export type {
  Backbone,
  BackboneCapabilities,
  BackboneMessage,
  BatchHandler,
  History,
  HistoryQuery,
  PublishOptions,
  SubscribeOptions,
  Subscription,
} from './backbone.js';
export { partitionOf } from './partition.js';
export {
  createPostgresLog,
  logChannel,
  type PostgresLogOptions,
  type PostgresLogBackbone,
  type PartitionLag,
} from './postgres-log/index.js';
export {
  withFaults,
  InjectedCrash,
  type FaultOptions,
  type FaultCounts,
  type FaultyBackbone,
} from './faults.js';
export { openBackbone, resolveBackboneUrl, type BackboneRuntime, type BackboneTiming } from './select.js';

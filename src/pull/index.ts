export { authorityReadApi, type AuthorityReadApiOptions } from './read-api.js';
export {
  createPullClient,
  type BatchResult,
  type BreakerState,
  type Clock,
  type PullBreakerOptions,
  type PullClient,
  type PullClientOptions,
  type PullClientStats,
  type PulledEntity,
} from './client.js';
export { notifyFetchHandler, type FetchedVersion, type NotifyFetchOptions } from './notify-fetch.js';
export { cacheServes, flightServes, type Read, type ReadOptions, type ReadTier } from './tiers.js';
export { problemMediaType, problemOf, problemType, type ProblemDocument } from './problem.js';
export {
  consumerHeader,
  maxBatchIds,
  type AuthorityRow,
  type BatchGetDocument,
  type BehindEntity,
  type EntityDocument,
  type EntityReader,
} from './wire.js';
export { withTombstonePolicy, type AnonymousValue, type TombstonePolicy } from './tombstone.js';

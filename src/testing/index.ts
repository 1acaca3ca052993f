/**
 * `tidemark/testing`: the contract suites every adapter must pass, and the invariant assertions
 * they are built from, so third parties can certify their own adapters. Needs vitest.
 */
export {
  backboneContract,
  type BackboneContractFixture,
  type BackboneFactory,
  type CrashableInstance,
} from './backbone-contract.js';
export { storeContract, type StoreUnderTest } from './store-contract.js';
export {
  assertKeyExclusive,
  assertNoDuplicates,
  assertNoLoss,
  assertPerKeyOrder,
  createOverlapProbe,
  type OverlapProbe,
} from './invariants.js';
export {
  createGate,
  createRecorder,
  workload,
  type DeliveryRecord,
  type Gate,
  type Recorder,
} from './backbone-workload.js';
export { assertEventMatchesSchema, assertSchemaCompatible, type SchemaSource } from './schema-contract.js';

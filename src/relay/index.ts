export { createRelay } from './relay.js';
export type { Relay, RelayOptions, RelayStatus, RelayCursor } from './relay.js';
export { orderVersionsWithinBatch } from './order.js';
export { diagnoseHorizon, explainHorizon } from './horizon.js';
export type { HorizonDiagnosis, HorizonHolder } from './horizon.js';
export { createAudienceBackbone, minimizedAttribute } from './audiences.js';
export type { AudienceBackbone, AudienceOptions } from './audiences.js';
export { pruneOutbox } from './prune-outbox.js';
export type { PruneOutboxOptions, PruneOutboxResult } from './prune-outbox.js';

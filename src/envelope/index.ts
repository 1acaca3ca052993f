export type { Envelope, EventKind } from './types.js';
export { eventKinds, extensionAttributes } from './types.js';
export { createEnvelope, sourceOf, defaultPartitionKey, type EnvelopeInput } from './create.js';
export { validateEnvelope, parseEnvelope, type EnvelopeIssue } from './validate.js';
export { canonicalJson, contentDigest } from './canonical.js';

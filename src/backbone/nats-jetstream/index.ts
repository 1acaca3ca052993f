export { createNatsJetStream, type NatsJetStreamBackbone } from './adapter.js';
export type { NatsJetStreamConfig, NatsJetStreamOptions } from './options.js';

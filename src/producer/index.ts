export { createProducer } from './producer.js';
export type {
  Producer,
  ProducerOptions,
  EntityRef,
  EventInput,
  AppendOptions,
  AppendResult,
} from './producer.js';
export { registerAuthority, loadAuthorities, type AuthorityRegistration } from './authorities.js';
export { outboxChannel } from './channel.js';

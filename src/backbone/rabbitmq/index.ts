export { createRabbitMq, type RabbitMqBackbone } from './adapter.js';
export type { RabbitMqConfig, RabbitMqOptions } from './options.js';
export { tidemarkDeadLetters, type BrokerDeadLetter, type DeadLetterSink } from './dead-letters.js';

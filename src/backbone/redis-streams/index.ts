export { createRedisStreams, type RedisStreamsBackbone } from './adapter.js';
export type { RedisStreamsConfig, RedisStreamsOptions } from './options.js';

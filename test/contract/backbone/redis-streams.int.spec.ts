import { describe } from 'vitest';
import { createRedisStreams } from '../../../src/backbone/redis-streams/index.js';
import { backboneContract } from '../../../src/testing/backbone-contract.js';
import { redisAvailable, redisUrl, uniqueRedisPrefix } from './redis-service.js';

// Short leases and polls so takeover scenarios finish in a couple of seconds.
const timing = {
  partitions: 8,
  leaseTtlMs: 1_500,
  heartbeatMs: 250,
  pollMs: 100,
  retryBaseMs: 20,
  retryMaxMs: 200,
};

const available = await redisAvailable();

describe.runIf(available)('Redis Streams', () => {
  backboneContract('redis-streams', async () => {
    const prefix = uniqueRedisPrefix();
    const backbone = await createRedisStreams({ url: redisUrl, prefix, ...timing });
    return {
      backbone,
      takeoverMs: timing.leaseTtlMs + 4 * timing.heartbeatMs + timing.pollMs,
      // Connections of its own; dropping them is a crashed process to Redis: leases and pending
      // entries stay until the lease expires and the next holder claims them.
      async openCrashable() {
        const other = await createRedisStreams({ url: redisUrl, prefix, ...timing });
        return { backbone: other, crash: async () => other.dangerous.sever() };
      },
      async dispose() {
        await backbone.dangerous.destroy();
        await backbone.close();
      },
    };
  });
});

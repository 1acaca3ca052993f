import { describe } from 'vitest';
import { createRabbitMq } from '../../../src/backbone/rabbitmq/index.js';
import { backboneContract } from '../../../src/testing/backbone-contract.js';
import { rabbitAvailable, rabbitUrl, uniquePrefix } from './rabbitmq-service.js';

// Short beats so takeover scenarios finish in a couple of seconds.
const timing = { partitions: 8, memberTtlMs: 1_200, heartbeatMs: 200, retryBaseMs: 20, retryMaxMs: 200 };
const groups = [
  'orders',
  'billing',
  'claims',
  'policy',
  'slow',
  'fast',
  'ledger',
  'comms',
  'archive',
  'dedup',
];

const available = await rabbitAvailable();

describe.runIf(available)('RabbitMQ', () => {
  backboneContract('rabbitmq', async () => {
    const prefix = uniquePrefix();
    const backbone = await createRabbitMq({ url: rabbitUrl, prefix, ...timing });
    return {
      backbone,
      takeoverMs: timing.memberTtlMs + 3 * timing.heartbeatMs,
      // An instance with a connection of its own; severing it is what a crashed process looks
      // like to the broker: its consumers vanish, its unacked messages return, it beats no more.
      async openCrashable() {
        const other = await createRabbitMq({ url: rabbitUrl, prefix, ...timing });
        return { backbone: other, crash: async () => other.dangerous.sever() };
      },
      async dispose() {
        await backbone.dangerous.destroy(groups);
        await backbone.close();
      },
    };
  });
});

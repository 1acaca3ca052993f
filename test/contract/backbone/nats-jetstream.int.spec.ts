import { describe } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { createNatsJetStream } from '../../../src/backbone/nats-jetstream/index.js';
import { backboneContract } from '../../../src/testing/backbone-contract.js';
import { natsAvailable, natsServers, uniqueStream } from './nats-service.js';

// Short leases and polls so takeover scenarios finish in a couple of seconds.
const timing = {
  partitions: 8,
  leaseTtlMs: 1_500,
  heartbeatMs: 250,
  pollMs: 250,
  ackWaitMs: 5_000,
  retryBaseMs: 20,
  retryMaxMs: 200,
  duplicateWindowMs: 60_000,
};

const available = await natsAvailable();

describe.runIf(available)('NATS JetStream', () => {
  backboneContract('nats-jetstream', async () => {
    const names = uniqueStream();
    const backbone = await createNatsJetStream({ servers: natsServers, ...names, ...timing });
    return {
      backbone,
      takeoverMs: timing.leaseTtlMs + 4 * timing.heartbeatMs + timing.pollMs,
      // An instance on a connection of its own; closing that connection is what a crashed
      // process looks like to the server: no release, entries left to expire.
      async openCrashable() {
        const nc = await connect({ servers: natsServers });
        const other = await createNatsJetStream({ connection: nc, ...names, ...timing });
        return { backbone: other, crash: () => nc.close() };
      },
      async dispose() {
        await backbone.dangerous.destroy();
        await backbone.close();
      },
    };
  });
});

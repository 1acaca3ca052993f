import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Backbone } from '../backbone/backbone.js';
import { createNatsJetStream } from '../backbone/nats-jetstream/index.js';
import { naming } from '../backbone/nats-jetstream/names.js';

export const demoStream = { stream: 'TIDEMARK_DEMO', subjectPrefix: 'tidemark.demo', partitions: 8 } as const;

/**
 * The demo's NATS backbone, started from an empty stream: a previous run's stream and lease
 * bucket are deleted first, so every run shows its own events only. Only the demo's own
 * names are ever deleted.
 */
export function openDemoNats(servers: string): () => Promise<Backbone> {
  return async () => {
    const options = { servers, ...demoStream, pollMs: 100, heartbeatMs: 1_000, leaseTtlMs: 5_000 };
    const nc = await connect({ servers, timeout: 3_000, maxReconnectAttempts: 0 }).catch(() => undefined);
    if (nc) {
      try {
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(demoStream.stream).catch(() => false);
        await jsm.streams.delete(`KV_${naming(demoStream).bucket}`).catch(() => false);
      } finally {
        await nc.close();
      }
    }
    // An unreachable server is reported here, with the address and what to check.
    return createNatsJetStream(options);
  };
}

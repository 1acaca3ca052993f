import type { Backbone } from '../../src/backbone/backbone.js';
import { createRelay } from '../../src/relay/index.js';
import { seededRandom } from '../../src/util/random.js';
import { openWorkerBackbone, openWorkerDb, readWorkerConfig, reportFault, say } from './config.js';

const config = readWorkerConfig();
const db = await openWorkerDb(config, 3);
const nats = await openWorkerBackbone(config);
const random = seededRandom(config.seed);
const rate = config.relay?.duplicatePublishRate ?? 0;

/**
 * Some batches are published a second time, later than the stream's duplicate window, so the
 * copies really reach the consumers (older versions after newer ones) and only the consumer
 * inbox stands between them and a second effect.
 */
const backbone: Backbone = {
  ...nats,
  async publish(batch, options) {
    await nats.publish(batch, options);
    if (batch.length === 0 || random() >= rate) return;
    const copy = [...batch];
    const delay = config.nats.duplicateWindowMs + 200 + Math.floor(random() * 1_000);
    setTimeout(() => {
      nats.publish(copy).then(
        () => reportFault('duplicate-publish', copy.length),
        () => say({ warning: 'a duplicate publish failed (NATS down?); not counted' }),
      );
    }, delay).unref();
  },
};
const relay = createRelay({
  db,
  backbone,
  schema: config.schema,
  batchSize: 200,
  pollMs: 50,
  leaseMs: 1_500,
  onError: (error) => say({ warning: `relay: ${String(error)}` }),
});
relay.start();
say({ ready: true, role: 'relay', member: relay.member });

process.on('SIGTERM', () => {
  void (async () => {
    await relay.stop();
    await nats.close();
    await db.close();
    process.exit(0);
  })();
});

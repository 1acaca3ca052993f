import { createConsumer } from '../../../src/consumer/consumer.js';
import { openWorkerBackbone, openWorkerDb, readConfig, say } from './config.js';

const config = readConfig();
const db = await openWorkerDb(config);
const backbone = await openWorkerBackbone(config, db);
const effects = `"${config.schema}".effects`;
const consumer = createConsumer({
  name: 'projector',
  db,
  backbone,
  schema: config.schema,
  partitionConcurrency: 4,
  retry: { attempts: 10, baseDelayMs: 10, maxDelayMs: 200 },
  handlers: {
    account: {
      async apply(tx, event) {
        await tx.query(
          `INSERT INTO ${effects} (entity_id, version, event_id, worker) VALUES ($1, $2, $3, $4)`,
          [event.entityid, event.entityversion, event.id, process.pid],
        );
      },
    },
  },
});
await consumer.start();
say({ ready: true, role: 'consumer' });
const report = setInterval(() => say({ partitions: consumer.subscription?.assignedPartitions() ?? [] }), 250);

process.on('SIGTERM', () => {
  void (async () => {
    clearInterval(report);
    await consumer.stop();
    await backbone.close();
    await db.close();
    process.exit(0);
  })();
});

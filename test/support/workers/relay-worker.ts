import { createRelay } from '../../../src/relay/relay.js';
import { openWorkerBackbone, openWorkerDb, readConfig, say } from './config.js';

const config = readConfig();
const db = await openWorkerDb(config);
const backbone = await openWorkerBackbone(config, db);
const relay = createRelay({
  db,
  backbone,
  schema: config.schema,
  batchSize: 200,
  pollMs: 50,
  leaseMs: 1_500,
  onError: (error) => say({ error: String(error) }),
});
relay.start();
say({ ready: true, role: 'relay', member: relay.member });

process.on('SIGTERM', () => {
  void (async () => {
    await relay.stop();
    await backbone.close();
    await db.close();
    process.exit(0);
  })();
});

import { withFaults } from '../../src/backbone/faults.js';
import { createConsumer } from '../../src/consumer/index.js';
import { isTidemarkError } from '../../src/errors.js';
import {
  CONSUMER_GROUP,
  ENTITY_TYPE,
  openWorkerBackbone,
  openWorkerDb,
  readWorkerConfig,
  reportFault,
  say,
} from './config.js';
import { PROJECTION_TABLE, PoisonPayload, projectorDigests, projectorHandler } from './projection.js';
import { projectorSchemas } from './schemas.js';

const config = readWorkerConfig();
const rates = config.consumer!;
const db = await openWorkerDb(config, 6);
const nats = await openWorkerBackbone(config);
const backbone = withFaults(nats, {
  seed: config.seed,
  duplicateRate: rates.duplicateDeliveryRate,
  reorderRate: rates.reorderRate,
  crashBeforeAckRate: rates.redeliveryRate,
});
const consumer = createConsumer({
  name: CONSUMER_GROUP,
  db,
  backbone,
  schema: config.schema,
  partitionConcurrency: 4,
  ledger: false,
  projection: { tables: [PROJECTION_TABLE] },
  // Bad input from the battery (chaos/bad-input.ts) is refused here, before the handler.
  receive: { schemas: projectorSchemas() },
  // Many attempts: a terminated connection or a NATS restart must not dead-letter a healthy
  // event. What the runtime knows to be permanent (bad envelope, no handler, schema) is not retried.
  retry: {
    attempts: 40,
    baseDelayMs: 20,
    maxDelayMs: 1_000,
    isRetryable: (error) => !(error instanceof PoisonPayload) && (!isTidemarkError(error) || error.retryable),
  },
  handlers: { [ENTITY_TYPE]: projectorHandler(config.schema, projectorDigests(config.schema)) },
});

// withFaults counts in memory; forward the increments as they happen.
const sent = { duplicated: 0, reordered: 0, crashedBeforeAck: 0 };
const names = {
  duplicated: 'duplicate-delivery',
  reordered: 'reorder',
  crashedBeforeAck: 'redelivery',
} as const;
const flush = () => {
  for (const key of Object.keys(sent) as (keyof typeof sent)[]) {
    reportFault(names[key], backbone.faults[key] - sent[key]);
    sent[key] = backbone.faults[key];
  }
};
const flusher = setInterval(flush, 50);

await consumer.start();
say({ ready: true, role: 'consumer' });

process.on('SIGTERM', () => {
  void (async () => {
    await consumer.stop();
    clearInterval(flusher);
    flush();
    await nats.close();
    await db.close();
    process.exit(0);
  })();
});

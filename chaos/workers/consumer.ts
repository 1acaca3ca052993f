import { withFaults } from '../../src/backbone/faults.js';
import { createConsumer } from '../../src/consumer/index.js';
import { quoteIdentifier } from '../../src/store/identifier.js';
import {
  CONSUMER_GROUP,
  ENTITY_TYPE,
  POISON_REASON,
  openWorkerBackbone,
  openWorkerDb,
  readWorkerConfig,
  reportFault,
  say,
} from './config.js';

/** Thrown for a poison payload; not retryable, so the event goes to the DLQ at once. */
class PoisonPayload extends Error {
  constructor(id: string) {
    super(`${POISON_REASON} (event ${id})`);
    this.name = 'PoisonPayload';
  }
}

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
const effects = `${quoteIdentifier(config.schema, 'schema name')}.effects`;
const consumer = createConsumer({
  name: CONSUMER_GROUP,
  db,
  backbone,
  schema: config.schema,
  partitionConcurrency: 4,
  ledger: false,
  // Many attempts: a terminated connection or a NATS restart must not dead-letter a healthy event.
  retry: {
    attempts: 40,
    baseDelayMs: 20,
    maxDelayMs: 1_000,
    isRetryable: (error) => !(error instanceof PoisonPayload),
  },
  handlers: {
    [ENTITY_TYPE]: {
      async apply(tx, event) {
        if ((event.data as { poison?: boolean } | undefined)?.poison) throw new PoisonPayload(event.id);
        // The effect log: independent evidence of what took effect, in which order, where.
        await tx.query(
          `INSERT INTO ${effects} (entity_id, version, event_id, worker) VALUES ($1, $2, $3, $4)`,
          [event.entityid, event.entityversion, event.id, process.pid],
        );
      },
    },
  },
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

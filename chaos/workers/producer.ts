import { createProducer } from '../../src/producer/index.js';
import { seededRandom } from '../../src/util/random.js';
import { sleep } from '../../src/util/wakeup.js';
import { ENTITY_TYPE, openWorkerDb, readWorkerConfig, reportFault, say } from './config.js';

/**
 * Appends the workload in small transactions at a paced rate: seeded keys, domain events, and
 * a poison payload at the configured rate (at most one per key, so each poisoned key has one
 * dead-letter head). A failed transaction (terminated connection) is retried with new choices;
 * the outbox, not this process, is the record of what was committed.
 */
const config = readWorkerConfig();
const workload = config.producer!;
const db = await openWorkerDb(config, 2);
const producer = createProducer({ context: 'ledger', schema: config.schema });
const random = seededRandom(config.seed);
const poisoned = new Set<number>();
const PER_TRANSACTION = 10;

say({ ready: true, role: 'producer' });
let committed = workload.startAt;
const started = Date.now();
while (committed < workload.events) {
  const size = Math.min(PER_TRANSACTION, workload.events - committed);
  const picks = Array.from({ length: size }, () => {
    const key = Math.floor(random() * workload.keys);
    const poison = !poisoned.has(key) && random() < workload.poisonRate;
    return { key, poison };
  });
  try {
    await db.transaction(async (tx) => {
      for (const { key, poison } of picks) {
        await producer.append(
          tx,
          { type: ENTITY_TYPE, id: `k-${key}` },
          { kind: 'domain', type: 'Posted', data: poison ? { poison: true } : { amount: key } },
        );
      }
    });
  } catch (error) {
    say({ warning: `producer transaction failed, retrying: ${String(error)}` });
    await sleep(100);
    continue;
  }
  committed += size;
  for (const { key, poison } of picks) {
    if (!poison) continue;
    poisoned.add(key);
    reportFault('poison', 1);
  }
  say({ committed });
  // Paced: stay on the rate's schedule rather than sleeping a fixed time per transaction.
  const due = started + ((committed - workload.startAt) / workload.rate) * 1_000;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
}
say({ done: true, committed });
await db.close();

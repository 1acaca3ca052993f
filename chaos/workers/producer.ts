import { createProducer } from '../../src/producer/index.js';
import { seededRandom } from '../../src/util/random.js';
import { sleep } from '../../src/util/wakeup.js';
import { ENTITY_TYPE, openWorkerDb, readWorkerConfig, reportFault, say } from './config.js';
import { ledgerDigests, recordAuthority } from './projection.js';

/**
 * Appends the workload in small transactions at a paced rate: seeded keys, domain events with
 * an amount the authority adds to the key's total (its state, with its digest, in the same
 * transaction), and a poison payload at the configured rate. Poison lands at most once per key
 * and never on a key's first version: every poisoned key then has one dead-letter head and a
 * replica row behind it (a finding reconciliation leaves to a person, see chaos/reconcile-hook.ts).
 * A failed transaction (terminated connection) is retried with new choices; the outbox, not this
 * process, is the record of what was committed.
 */
const config = readWorkerConfig();
const workload = config.producer!;
const db = await openWorkerDb(config, 2);
const producer = createProducer({ context: 'ledger', schema: config.schema });
const random = seededRandom(config.seed);
const digests = ledgerDigests(config.schema);
const poisoned = new Set<number>();
/** Keys this incarnation committed: they have a first version, so a poison event is not it. */
const seen = new Set<number>();
const PER_TRANSACTION = 10;

say({ ready: true, role: 'producer' });
let committed = workload.startAt;
const started = Date.now();
while (committed < workload.events) {
  const size = Math.min(PER_TRANSACTION, workload.events - committed);
  const picks = Array.from({ length: size }, () => {
    const key = Math.floor(random() * workload.keys);
    const poison = seen.has(key) && !poisoned.has(key) && random() < workload.poisonRate;
    return { key, poison, amount: 1 + Math.floor(random() * 1_000) };
  });
  try {
    await db.transaction(async (tx) => {
      for (const { key, poison, amount } of picks) {
        const { version } = await producer.append(
          tx,
          { type: ENTITY_TYPE, id: `k-${key}` },
          { kind: 'domain', type: 'Posted', data: poison ? { poison: true } : { amount } },
          { schemaVersion: 1 },
        );
        await recordAuthority(tx, digests, config.schema, `k-${key}`, version, poison ? 0 : amount);
      }
    });
  } catch (error) {
    say({ warning: `producer transaction failed, retrying: ${String(error)}` });
    await sleep(100);
    continue;
  }
  committed += size;
  for (const { key, poison } of picks) {
    seen.add(key);
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

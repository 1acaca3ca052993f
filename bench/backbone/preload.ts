import { createProducer, registerAuthority } from '../../src/producer/index.js';
import type { Db } from '../../src/store/db.js';

const APPENDS_PER_TX = 100;

/** Fills the outbox through the real producer, `writers` transactions at a time, 100 events each. */
export async function preload(
  db: Db,
  schema: string,
  events: number,
  entities: number,
  writers: number,
): Promise<void> {
  await registerAuthority(db, { entityType: 'account', context: 'ledger' }, schema);
  // No NOTIFY: nothing listens yet, and the preload is not what is measured.
  const producer = createProducer({ context: 'ledger', schema, notify: false });
  let next = 0;
  const writer = async () => {
    while (next < events) {
      const from = next;
      const to = Math.min(events, from + APPENDS_PER_TX);
      next = to;
      // Aligned chunks of consecutive entities: writers never lock the same entities in another order.
      await db.transaction(async (tx) => {
        for (let i = from; i < to; i++) {
          await producer.append(
            tx,
            { type: 'account', id: `acct-${i % entities}` },
            { kind: 'state', data: { accountId: i % entities, balance: i, currency: 'EUR' } },
          );
        }
      });
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
}

import { describe, expect, it } from 'vitest';
import { embeddedDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer } from '../../src/consumer/index.js';

describe('spine on PGlite', () => {
  it('moves an appended event through relay and log into a consumer projection', async () => {
    const { db, schema, cleanup } = await embeddedDb();
    try {
      await registerAuthority(db, { entityType: 'customer', context: 'profile' }, schema);
      await db.query(
        `CREATE TABLE ${schema}.billing_customers (id text primary key, city text, version int)`,
      );
      const producer = createProducer({ context: 'profile', schema });
      await db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id: 'c1' }, { kind: 'state', data: { city: 'Leeds' } }),
      );
      const backbone = await createPostgresLog({ db, schema, partitions: 4 });
      const relay = createRelay({ db, backbone, schema });
      expect(await relay.drain()).toBe(1);
      const applied: string[] = [];
      const consumer = createConsumer({
        name: 'billing',
        db,
        backbone,
        schema,
        onOutcome: (o) => applied.push(`${o.kind}:${o.envelope.entityid}@${o.envelope.entityversion}`),
        handlers: {
          customer: {
            async apply(tx, event) {
              const data = event.data as { city: string };
              await tx.query(
                `INSERT INTO ${schema}.billing_customers VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET city = $2, version = $3`,
                [event.entityid, data.city, event.entityversion],
              );
            },
          },
        },
      });
      await consumer.start();
      await expect.poll(() => applied, { timeout: 10_000 }).toEqual(['applied:c1@1']);
      await consumer.stop();
      const rows = await db.query(`SELECT * FROM ${schema}.billing_customers`);
      expect(rows.rows).toEqual([{ id: 'c1', city: 'Leeds', version: 1 }]);
    } finally {
      await cleanup();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchemaSet } from '../../src/schema/index.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createEstate, type Estate } from './estate.js';

const kinds = await databaseKinds();

/** Billing validates on receipt: customer state events are `customer.state` v1. */
const customerSchemas = () =>
  createSchemaSet([
    {
      type: 'customer.state',
      version: 1,
      schema: {
        type: 'object',
        properties: { name: { type: 'string' }, address: { type: 'string' } },
        required: ['name', 'address'],
        additionalProperties: false,
      },
    },
  ]);

async function activeDeadLetters(estate: Estate, id: string): Promise<number> {
  const result = await estate.replica.db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM "${estate.replica.schema}".dead_letters
      WHERE entity_id = $1 AND status IN ('open', 'retry', 'parked')`,
    [id],
  );
  return Number(result.rows[0]!.n);
}

describe.each(kinds)('reconciliation repairs meeting the consumer on $name', (kind) => {
  const opened: TestDb[] = [];
  const open = async () => {
    const db = await kind.open();
    opened.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of opened.reverse()) await db.cleanup();
  });

  describe('a consumer that validates on receipt', () => {
    let estate: Estate;
    beforeAll(async () => {
      estate = await createEstate(await open(), await open(), {
        receive: { schemas: customerSchemas() },
        schemaVersion: 1,
      });
    });

    it("applies a rehydrate repair validated against the entity's state schema", async () => {
      await estate.deliver(await estate.write('v1', { name: 'Ada', address: '1 Quay' }));
      await estate.write('v1', { name: 'Ada', address: '2 Quay' }); // never delivered: stale
      await estate.write('v2', { name: 'Bo', address: '3 Quay' }); // never delivered: missing
      const report = await estate.reconciler().run();
      expect(report.found).toMatchObject({ stale: 1, missing: 1 });
      expect(report.outcomes).toEqual({ repaired: 2 });
      expect(await estate.replicaRows()).toEqual(await estate.authorityRows());
      expect(await activeDeadLetters(estate, 'v1')).toBe(0);
      expect(await activeDeadLetters(estate, 'v2')).toBe(0);
    });

    it('still refuses a repair whose state does not match the state schema', async () => {
      // The authority's table holds a state the consumer's schema refuses (an extra field).
      const source = {
        fetch: async (id: string) => {
          const found = await estate.source.fetch(id);
          return found && { ...found, state: { ...(found.state as object), shoeSize: 44 } };
        },
      };
      await estate.write('v3', { name: 'Cy', address: '4 Quay' });
      const report = await estate.reconciler({ source }).run();
      expect(report.outcomes).toEqual({ failed: 1 });
      const letters = await estate.replica.db.query<{ code: string }>(
        `SELECT code FROM "${estate.replica.schema}".dead_letters WHERE entity_id = 'v3'`,
      );
      expect(letters.rows.map((r) => r.code)).toEqual(['TM_SCHEMA_INVALID_EVENT']);
    });
  });

  describe('a key parked behind a dead letter', () => {
    let estate: Estate;
    beforeAll(async () => {
      estate = await createEstate(await open(), await open());
    });

    it('is left to a person as an exception, and reconciliation parks nothing', async () => {
      await estate.deliver(await estate.write('p1', { name: 'Di', address: '5 Quay' }));
      const poison = await estate.write('p1', { name: 'Di', address: '6 Quay' });
      // The billing handler fails on it (name NOT NULL): version 2 is dead-lettered.
      const outcomes = await estate.consumer.handle({ ...poison, data: { address: '6 Quay' } });
      expect(outcomes.map((o) => o.kind)).toEqual(['dead-lettered']);
      expect(await activeDeadLetters(estate, 'p1')).toBe(1);
      const head = await estate.replica.db.query<{ id: string }>(
        `SELECT id::text FROM "${estate.replica.schema}".dead_letters WHERE entity_id = 'p1'`,
      );

      const report = await estate.reconciler().run();
      expect(report.found).toMatchObject({ stale: 1 });
      expect(report.outcomes).toEqual({ exception: 1 });
      expect(await activeDeadLetters(estate, 'p1')).toBe(1);
      const exceptions = await estate.replica.db.query<{ detail: string }>(
        `SELECT notes AS detail FROM "${estate.replica.schema}".recon_exceptions WHERE entity_id = 'p1'`,
      );
      expect(exceptions.rows.map((r) => r.detail)).toEqual([
        `key parked behind dead letter #${head.rows[0]!.id}: repair after the dead letter is settled`,
      ]);
    });
  });
});

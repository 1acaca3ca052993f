import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createConsumer } from '../../src/consumer/index.js';
import { createEnvelope } from '../../src/envelope/index.js';
import { isTidemarkError } from '../../src/errors.js';
import type { Backbone } from '../../src/backbone/index.js';

/** Text jsonb cannot store: refused at append with its path; dead-lettered (not looping) on receipt. */
describe.each(await databaseKinds())('a NUL in event data on $name', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterAll(() => t.cleanup());

  it('append refuses it naming the field, and nothing reaches the outbox', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    let caught: unknown;
    try {
      await t.db.transaction((tx) =>
        producer.append(
          tx,
          { type: 'customer', id: 'nul-1' },
          { kind: 'state', data: { name: 'Ada\u0000' } },
        ),
      );
    } catch (error) {
      caught = error;
    }
    expect(isTidemarkError(caught, 'TM_ENVELOPE_INVALID')).toBe(true);
    expect((caught as Error).message).toContain('data.name');
    const rows = await t.db.query(`SELECT 1 FROM "${t.schema}".outbox WHERE entity_id = 'nul-1'`);
    expect(rows.rows).toHaveLength(0);
  });

  it('a consumer that receives one from elsewhere dead-letters it with the reason and keeps what arrived', async () => {
    let applied = 0;
    const consumer = createConsumer({
      name: 'nul-receiver',
      db: t.db,
      backbone: {} as Backbone,
      schema: t.schema,
      handlers: {
        customer: {
          async apply() {
            applied++;
          },
        },
      },
    });
    const received = {
      ...createEnvelope({
        kind: 'state',
        authority: 'profile',
        entityType: 'customer',
        entityId: 'nul-2',
        entityVersion: 1,
        data: {},
      }),
      data: { address: { line1: 'Harbour\u0000Road' } },
    };
    const [outcome] = await consumer.handle(received);
    expect(outcome?.kind).toBe('dead-lettered');
    expect(outcome?.reason).toContain('data.address.line1');
    expect(applied).toBe(0);
    const stored = await t.db.query<{ code: string; envelope: { data: { address: { line1: string } } } }>(
      `SELECT code, envelope FROM "${t.schema}".dead_letters WHERE consumer = 'nul-receiver'`,
    );
    expect(stored.rows).toHaveLength(1);
    expect(stored.rows[0]!.code).toBe('TM_ENVELOPE_INVALID');
    expect(stored.rows[0]!.envelope.data.address.line1).toBe('Harbour\uFFFDRoad');
  });
});

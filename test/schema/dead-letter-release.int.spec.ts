/**
 * The receive steps also guard dead letters an operator releases: an edited event is validated
 * again before its handler runs, and a claim-checked payload is verified again on retry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterAdmin } from '../../src/dlq/admin.js';
import { createEnvelope } from '../../src/envelope/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createClaimCheckStore } from '../../src/schema/claim-check/store.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { addressV1 } from './fixtures.js';
import { deadLetters, published, recordingConsumer } from './receive-support.js';

const kinds = await databaseKinds();
const type = 'customer.AddressChanged';
const schemas = createSchemaSet([{ type, version: 1, schema: addressV1 }]);
const operator = { actor: 'test-operator', reason: 'fixed the data' };

describe.each(kinds)('released dead letters on $name', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterAll(() => t.cleanup());

  it('a retried invalid event fails again; edited into shape, it applies and the parked event follows', async () => {
    const { consumer, seen } = recordingConsumer(t, 'edit', { schemas });
    const admin = createDeadLetterAdmin({ db: t.db, schema: t.schema });
    const base = {
      kind: 'domain' as const,
      type,
      authority: 'profile',
      entityType: 'customer',
      entityId: 'e-1',
      schemaVersion: 1,
    };
    const bad = createEnvelope({ ...base, entityVersion: 1, data: { customerId: 'c', address: {} } });
    const next = createEnvelope({
      ...base,
      entityVersion: 2,
      data: { customerId: 'c', address: { street: 'B' } },
    });
    expect((await consumer.handle(bad))[0]!.kind).toBe('dead-lettered');
    expect((await consumer.handle(next))[0]!.kind).toBe('parked');
    const [letter] = await t.db
      .query<{ id: number }>(
        `SELECT id FROM "${t.schema}".dead_letters WHERE consumer = 'edit' AND status = 'open'`,
      )
      .then((r) => r.rows);

    await admin.retry(Number(letter!.id), operator);
    expect(await consumer.repair()).toEqual({ resolved: 0, failed: 1 });
    expect(seen).toEqual([]);

    await admin.edit(Number(letter!.id), { customerId: 'c', address: { street: 'A' } }, operator);
    expect(await consumer.repair()).toEqual({ resolved: 2, failed: 0 });
    expect(seen.map((e) => [e.entityversion, e.data])).toEqual([
      [1, { customerId: 'c', address: { street: 'A' } }],
      [2, { customerId: 'c', address: { street: 'B' } }],
    ]);
  });

  it('a claim whose payload was restored applies on retry, verified against the digest', async () => {
    const claims = createClaimCheckStore({ schema: t.schema, thresholdBytes: 16 });
    const producer = createProducer({
      context: 'profile',
      schema: t.schema,
      payloads: { schemas, claimCheck: claims },
    });
    const data = { customerId: 'c', address: { street: 'Long Street 12345' } };
    const appended = await t.db.transaction((tx) =>
      producer.append(tx, { type: 'customer', id: 'e-2' }, { kind: 'domain', type, data }),
    );
    const envelope = await published(t, appended.eventId);
    const claimId = (envelope as unknown as { claimcheck: string }).claimcheck;
    const table = `"${t.schema}".claim_checks`;
    await t.db.query(
      `UPDATE ${table} SET payload = '{"customerId":"forged","address":{"street":"x"}}' WHERE claim_id = $1`,
      [claimId],
    );

    const { consumer, seen } = recordingConsumer(t, 'claims', { schemas, claimCheck: claims });
    expect((await consumer.handle(envelope))[0]!.kind).toBe('dead-lettered');
    const [letter] = await deadLetters(t, 'claims');
    expect(letter!.code).toBe('TM_CLAIM_CHECK_MISMATCH');

    await t.db.query(`UPDATE ${table} SET payload = $2::jsonb WHERE claim_id = $1`, [
      claimId,
      JSON.stringify(data),
    ]);
    const admin = createDeadLetterAdmin({ db: t.db, schema: t.schema });
    const id = (
      await t.db.query<{ id: number }>(`SELECT id FROM "${t.schema}".dead_letters WHERE consumer = 'claims'`)
    ).rows[0]!.id;
    await admin.retry(Number(id), operator);
    expect(await consumer.repair()).toEqual({ resolved: 1, failed: 0 });
    expect(seen.map((e) => e.data)).toEqual([data]);
  });
});

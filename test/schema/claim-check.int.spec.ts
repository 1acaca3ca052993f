/**
 * Claim check: a payload over the threshold is stored once in the producer's transaction, the
 * event carries a reference and digest, and consumers fetch and verify it; a tampered or
 * missing payload dead-letters the event, never a partial apply.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { contentDigest } from '../../src/envelope/canonical.js';
import { createClaimCheckStore } from '../../src/schema/claim-check/store.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { isTidemarkError } from '../../src/errors.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { deadLetters, published, recordingConsumer } from './receive-support.js';

const kinds = await databaseKinds();
const type = 'customer.DocumentAttached';
const schemas = createSchemaSet([
  {
    type,
    version: 1,
    schema: {
      type: 'object',
      properties: { title: { type: 'string' }, pages: { type: 'array', items: { type: 'string' } } },
      required: ['title', 'pages'],
    },
  },
]);
const large = (title: string) => ({
  title,
  pages: Array.from({ length: 40 }, (_, i) => `page ${i} `.repeat(20)),
});

describe.each(kinds)('claim check on $name', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterAll(() => t.cleanup());

  const store = () => createClaimCheckStore({ schema: t.schema, thresholdBytes: 1024 });
  const append = async (id: string, data: unknown) => {
    const producer = createProducer({
      context: 'profile',
      schema: t.schema,
      payloads: { schemas, claimCheck: store() },
    });
    const result = await t.db.transaction((tx) =>
      producer.append(tx, { type: 'customer', id }, { kind: 'domain', type, data }),
    );
    return published(t, result.eventId);
  };

  it('stores a large payload once and sends a reference and digest; the consumer gets the payload back', async () => {
    const data = large('contract');
    const envelope = (await append('cc-1', data)) as unknown as Record<string, unknown>;
    expect(envelope.data).toBeUndefined();
    expect(envelope.claimdigest).toBe(`sha256:${contentDigest(data)}`);
    expect(envelope.claimsize).toBe(Buffer.byteLength(JSON.stringify(data)));
    expect(envelope.schemaversion).toBe(1);
    const rows = await t.db.query<{ claim_id: string; entity_id: string }>(
      `SELECT claim_id::text, entity_id FROM "${t.schema}".claim_checks`,
    );
    expect(rows.rows).toEqual([{ claim_id: envelope.claimcheck, entity_id: 'cc-1' }]);

    const { consumer, seen } = recordingConsumer(t, 'archive', { schemas, claimCheck: store() });
    const [outcome] = await consumer.handle(envelope);
    expect(outcome!.kind).toBe('applied');
    expect(seen[0]!.data).toEqual(data);
    expect(seen[0]).not.toHaveProperty('claimcheck');
  });

  it('sends small payloads inline', async () => {
    const envelope = (await append('cc-2', { title: 'note', pages: [] })) as unknown as Record<
      string,
      unknown
    >;
    expect(envelope.data).toEqual({ title: 'note', pages: [] });
    expect(envelope).not.toHaveProperty('claimcheck');
  });

  it('dead-letters an event whose stored payload was tampered with, and applies nothing', async () => {
    const envelope = (await append('cc-3', large('original'))) as unknown as Record<string, unknown>;
    await t.db.query(
      `UPDATE "${t.schema}".claim_checks SET payload = jsonb_set(payload, '{title}', '"forged"') WHERE claim_id = $1`,
      [envelope.claimcheck],
    );
    const { consumer, seen } = recordingConsumer(t, 'tamper', { schemas, claimCheck: store() });
    const [outcome] = await consumer.handle(envelope);
    expect(outcome!.kind).toBe('dead-lettered');
    expect(seen).toEqual([]);
    const [letter] = await deadLetters(t, 'tamper');
    expect(letter!.code).toBe('TM_CLAIM_CHECK_MISMATCH');
    expect(letter!.reason).toContain(String(envelope.claimdigest));
    expect(await consumer.appliedVersion('customer', 'cc-3')).toBe(0);
  });

  it('dead-letters an event whose digest was changed in transit', async () => {
    const envelope = (await append('cc-4', large('x'))) as unknown as Record<string, unknown>;
    const forged = { ...envelope, claimdigest: `sha256:${'0'.repeat(64)}` };
    const { consumer, seen } = recordingConsumer(t, 'forged', { schemas, claimCheck: store() });
    expect((await consumer.handle(forged))[0]!.kind).toBe('dead-lettered');
    expect((await deadLetters(t, 'forged'))[0]!.code).toBe('TM_CLAIM_CHECK_MISMATCH');
    expect(seen).toEqual([]);
  });

  it('dead-letters an event whose claim is gone, or that arrives at a consumer without a store', async () => {
    const envelope = (await append('cc-5', large('y'))) as unknown as Record<string, unknown>;
    const withoutStore = recordingConsumer(t, 'no-store', { schemas });
    expect((await withoutStore.consumer.handle(envelope))[0]!.kind).toBe('dead-lettered');
    expect((await deadLetters(t, 'no-store'))[0]!.reason).toContain('receive.claimCheck');

    await t.db.query(`DELETE FROM "${t.schema}".claim_checks WHERE claim_id = $1`, [envelope.claimcheck]);
    const { consumer, seen } = recordingConsumer(t, 'purged', { schemas, claimCheck: store() });
    expect((await consumer.handle(envelope))[0]!.kind).toBe('dead-lettered');
    const [letter] = await deadLetters(t, 'purged');
    expect(letter!.code).toBe('TM_CLAIM_CHECK_MISSING');
    expect(letter!.reason).toContain(String(envelope.claimcheck));
    expect(seen).toEqual([]);
  });

  it('a refused event leaves no claim behind; retention purges expired claims only', async () => {
    const before = await t.db.query(`SELECT 1 FROM "${t.schema}".claim_checks`);
    const producer = createProducer({
      context: 'profile',
      schema: t.schema,
      payloads: { schemas, claimCheck: store() },
    });
    await expect(
      t.db.transaction((tx) =>
        producer.append(
          tx,
          { type: 'customer', id: 'cc-6' },
          { kind: 'domain', type, data: { pages: large('z').pages } },
        ),
      ),
    ).rejects.toSatisfy((error) => isTidemarkError(error, 'TM_SCHEMA_INVALID_EVENT'));
    expect((await t.db.query(`SELECT 1 FROM "${t.schema}".claim_checks`)).rows.length).toBe(
      before.rows.length,
    );

    const shortLived = createClaimCheckStore({ schema: t.schema, thresholdBytes: 10, retentionMs: 1 });
    const kept = createClaimCheckStore({ schema: t.schema, thresholdBytes: 10, retentionMs: null });
    const envelope = await published(
      t,
      (
        await t.db.transaction((tx) =>
          createProducer({ context: 'profile', schema: t.schema, payloads: { claimCheck: kept } }).append(
            tx,
            { type: 'customer', id: 'cc-7' },
            { kind: 'state', data: large('kept') },
          ),
        )
      ).eventId,
    );
    await t.db.transaction((tx) =>
      createProducer({ context: 'profile', schema: t.schema, payloads: { claimCheck: shortLived } }).append(
        tx,
        { type: 'customer', id: 'cc-8' },
        { kind: 'state', data: large('short') },
      ),
    );
    // Wait (by the database's clock) until the short-lived claim has expired.
    while (
      (
        await t.db.query(
          `SELECT 1 FROM "${t.schema}".claim_checks WHERE entity_id = 'cc-8' AND expires_at > now()`,
        )
      ).rows.length > 0
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const total = (await t.db.query(`SELECT 1 FROM "${t.schema}".claim_checks`)).rows.length;
    expect(await shortLived.purgeExpired(t.db)).toBe(1);
    const left = await t.db.query<{ entity_id: string }>(`SELECT entity_id FROM "${t.schema}".claim_checks`);
    expect(left.rows.length).toBe(total - 1);
    expect(left.rows.map((r) => r.entity_id)).toContain('cc-7');
    expect(left.rows.map((r) => r.entity_id)).not.toContain('cc-8');
    expect(await kept.resolve(t.db, envelope)).toMatchObject({ data: large('kept') });
  });
});

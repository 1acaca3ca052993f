/**
 * Producers validate before append: a bad event never reaches the outbox, the error names the
 * field and the rule, and a valid event carries the schema version it was validated against.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTidemarkError, type TidemarkError } from '../../src/errors.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createSchemaSet } from '../../src/schema/schema-set.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { addressV1 } from './fixtures.js';

const kinds = await databaseKinds();
const type = 'customer.AddressChanged';
const addressV2 = { ...addressV1, properties: { ...addressV1.properties, note: { type: 'string' } } };
const schemas = createSchemaSet([
  { type, version: 1, schema: addressV1 },
  { type, version: 2, schema: addressV2 },
]);

async function failure(work: Promise<unknown>): Promise<TidemarkError> {
  try {
    await work;
  } catch (error) {
    if (isTidemarkError(error)) return error;
    throw error;
  }
  throw new Error('expected a TidemarkError');
}

describe.each(kinds)('producer validation on $name', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });
  afterAll(() => t.cleanup());

  const producer = () => createProducer({ context: 'profile', schema: t.schema, payloads: { schemas } });
  const outboxCount = async (entityId: string) =>
    Number(
      (
        await t.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${t.schema}".outbox WHERE entity_id = $1`,
          [entityId],
        )
      ).rows[0]!.n,
    );
  const versionOf = async (entityId: string) =>
    (
      await t.db.query<{ version: number }>(
        `SELECT version FROM "${t.schema}".entity_versions WHERE entity_type = 'customer' AND entity_id = $1`,
        [entityId],
      )
    ).rows[0]?.version;

  it('refuses an event whose field breaks a rule, naming the field and the rule; nothing reaches the outbox', async () => {
    const bad = { customerId: 'c-1', address: { street: 'Main St 1', postcode: '12' } };
    const error = await failure(
      t.db.transaction((tx) =>
        producer().append(tx, { type: 'customer', id: 'bad-1' }, { kind: 'domain', type, data: bad }),
      ),
    );
    expect(error.code).toBe('TM_SCHEMA_INVALID_EVENT');
    expect(error.message).toContain('address.postcode');
    expect(error.message).toContain('pattern');
    expect(error.context?.issues).toEqual([
      expect.objectContaining({ path: 'address.postcode', rule: 'pattern' }),
    ]);
    expect(await outboxCount('bad-1')).toBe(0);
    expect(await versionOf('bad-1')).toBeUndefined();
  });

  it('refuses a missing required field by name', async () => {
    const error = await failure(
      t.db.transaction((tx) =>
        producer().append(
          tx,
          { type: 'customer', id: 'bad-2' },
          { kind: 'domain', type, data: { customerId: 'c' } },
        ),
      ),
    );
    expect(error.context?.issues).toEqual([expect.objectContaining({ path: 'address', rule: 'required' })]);
    expect(error.message).toContain('address');
    expect(await outboxCount('bad-2')).toBe(0);
  });

  it('one bad event of a multi-event append keeps the good one out too', async () => {
    const error = await failure(
      t.db.transaction((tx) =>
        producer().append(tx, { type: 'customer', id: 'bad-3' }, [
          { kind: 'state', type: 'customer.state', data: { any: 'thing' } },
          { kind: 'domain', type, data: { customerId: 'c' } },
        ]),
      ),
    );
    // customer.state has no schema: the first event is refused before the second is looked at.
    expect(error.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
    expect(error.message).toContain('customer.state');
    expect(await outboxCount('bad-3')).toBe(0);
  });

  it('stamps schemaversion with the latest version when none is given, or validates against the one given', async () => {
    const data = { customerId: 'c-1', address: { street: 'Main St 1' } };
    const latest = await t.db.transaction((tx) =>
      producer().append(tx, { type: 'customer', id: 'ok-1' }, { kind: 'domain', type, data }),
    );
    const pinned = await t.db.transaction((tx) =>
      producer().append(
        tx,
        { type: 'customer', id: 'ok-1' },
        { kind: 'domain', type, data },
        { schemaVersion: 1 },
      ),
    );
    const rows = (
      await t.db.query<{ event_id: string; envelope: { schemaversion?: number } }>(
        `SELECT event_id::text, envelope FROM "${t.schema}".outbox WHERE entity_id = 'ok-1' ORDER BY position`,
      )
    ).rows;
    expect(rows.map((r) => [r.event_id, r.envelope.schemaversion])).toEqual([
      [latest.eventId, 2],
      [pinned.eventId, 1],
    ]);
    const unknown = await failure(
      t.db.transaction((tx) =>
        producer().append(
          tx,
          { type: 'customer', id: 'ok-1' },
          { kind: 'domain', type, data },
          { schemaVersion: 7 },
        ),
      ),
    );
    expect(unknown.code).toBe('TM_SCHEMA_UNKNOWN_VERSION');
    expect(unknown.message).toContain('registered: 1, 2');
  });

  it('lets unknown types through when allowed, and tombstones always (they carry no data)', async () => {
    const lenient = createProducer({
      context: 'profile',
      schema: t.schema,
      payloads: { schemas, allowUnknownTypes: true },
    });
    const state = await t.db.transaction((tx) =>
      lenient.append(tx, { type: 'customer', id: 'ok-2' }, { kind: 'state', data: { anything: 1 } }),
    );
    const tombstone = await t.db.transaction((tx) =>
      producer().append(tx, { type: 'customer', id: 'ok-2' }, { kind: 'tombstone' }),
    );
    expect([state.version, tombstone.version]).toEqual([1, 2]);
    expect(await outboxCount('ok-2')).toBe(2);
  });
});

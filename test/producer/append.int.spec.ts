import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import {
  ConcurrencyError,
  NotAuthorityError,
  UnknownEntityTypeError,
  isTidemarkError,
} from '../../src/errors.js';

const kinds = await databaseKinds();

describe.each(kinds)('producer append on $name', (kind) => {
  let t: TestDb;
  const customer = (id: string) => ({ type: 'customer', id });
  const state = (city: string) => ({ kind: 'state' as const, data: { city } });

  beforeAll(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
    await registerAuthority(t.db, { entityType: 'invoice', context: 'billing' }, t.schema);
  });
  afterAll(() => t.cleanup());

  const outboxRows = async (id: string) =>
    (
      await t.db.query<{ entity_version: number; envelope: Record<string, unknown> }>(
        `SELECT entity_version, envelope FROM "${t.schema}".outbox WHERE entity_id = $1 ORDER BY position`,
        [id],
      )
    ).rows;

  it('given a committed business transaction, when it appended, then the outbox holds the event with version 1, 2, …', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const first = await t.db.transaction((tx) => producer.append(tx, customer('a1'), state('Leeds')));
    const second = await t.db.transaction((tx) => producer.append(tx, customer('a1'), state('York')));
    expect([first.version, second.version]).toEqual([1, 2]);
    const rows = await outboxRows('a1');
    expect(rows.map((r) => r.entity_version)).toEqual([1, 2]);
    expect(rows[1]!.envelope).toMatchObject({
      id: second.eventId,
      eventkind: 'state',
      entitytype: 'customer',
      entityid: 'a1',
      authority: 'profile',
      data: { city: 'York' },
    });
  });

  it('given a business transaction that rolls back, then no event and no version bump remain', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    await t.db.transaction((tx) => producer.append(tx, customer('r1'), state('Leeds')));
    await expect(
      t.db.transaction(async (tx) => {
        await producer.append(tx, customer('r1'), state('Hull'));
        throw new Error('payment declined');
      }),
    ).rejects.toThrow('payment declined');
    expect((await outboxRows('r1')).map((r) => r.entity_version)).toEqual([1]);
    const next = await t.db.transaction((tx) => producer.append(tx, customer('r1'), state('Bath')));
    expect(next.version).toBe(2);
  });

  it('given expectedVersion matching the stored version, the append succeeds; otherwise a ConcurrencyError names both', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    await t.db.transaction((tx) =>
      producer.append(tx, customer('c1'), state('Leeds'), { expectedVersion: 0 }),
    );
    await t.db.transaction((tx) =>
      producer.append(tx, customer('c1'), state('York'), { expectedVersion: 1 }),
    );
    const stale = t.db.transaction((tx) =>
      producer.append(tx, customer('c1'), state('Hull'), { expectedVersion: 1 }),
    );
    await expect(stale).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(stale).rejects.toMatchObject({
      code: 'TM_CONCURRENCY_CONFLICT',
      entityType: 'customer',
      entityId: 'c1',
      expectedVersion: 1,
      actualVersion: 2,
    });
    await expect(stale).rejects.toThrow(/customer 'c1' is at version 2, but the append expected version 1/);
    const exists = t.db.transaction((tx) =>
      producer.append(tx, customer('c1'), state('X'), { expectedVersion: 0 }),
    );
    await expect(exists).rejects.toMatchObject({ expectedVersion: 0, actualVersion: 2 });
    const missing = t.db.transaction((tx) =>
      producer.append(tx, customer('nobody'), state('X'), { expectedVersion: 4 }),
    );
    await expect(missing).rejects.toMatchObject({ expectedVersion: 4, actualVersion: 0 });
    expect((await outboxRows('c1')).map((r) => r.entity_version)).toEqual([1, 2]);
    expect(await outboxRows('nobody')).toEqual([]);
  });

  it('describes one change to several strategies with events that share the new version', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const result = await t.db.transaction((tx) =>
      producer.append(tx, customer('m1'), [
        { kind: 'domain', type: 'AddressChanged', data: { city: 'Leeds' } },
        { kind: 'state', data: { name: 'Ann', city: 'Leeds' } },
      ]),
    );
    expect(result.version).toBe(1);
    expect(result.eventIds).toHaveLength(2);
    const rows = await outboxRows('m1');
    expect(rows.map((r) => [r.entity_version, r.envelope.eventkind, r.envelope.id])).toEqual([
      [1, 'domain', result.eventIds[0]],
      [1, 'state', result.eventIds[1]],
    ]);
  });

  it('refuses two events of one kind in one change, and an empty change', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const twice = t.db.transaction((tx) =>
      producer.append(tx, customer('m2'), [
        { kind: 'domain', type: 'A' },
        { kind: 'domain', type: 'B' },
      ]),
    );
    await expect(twice).rejects.toThrow(/two 'domain' events for one change/);
    const none = t.db.transaction((tx) => producer.append(tx, customer('m2'), []));
    await expect(none).rejects.toMatchObject({ code: 'TM_INVALID_ARGUMENT' });
    expect(await outboxRows('m2')).toEqual([]);
  });

  it('appends with a version the caller keeps, writing no version row of its own', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const result = await t.db.transaction((tx) =>
      producer.append(tx, customer('cv1'), state('Leeds'), { version: 7 }),
    );
    expect(result.version).toBe(7);
    expect((await outboxRows('cv1')).map((r) => r.entity_version)).toEqual([7]);
    const versions = await t.db.query(`SELECT 1 FROM "${t.schema}".entity_versions WHERE entity_id = 'cv1'`);
    expect(versions.rows).toEqual([]);
    for (const bad of [{ version: 0 }, { version: 2, expectedVersion: 1 }]) {
      const attempt = t.db.transaction((tx) => producer.append(tx, customer('cv1'), state('X'), bad));
      await expect(attempt).rejects.toMatchObject({ code: 'TM_INVALID_ARGUMENT' });
    }
  });

  it('rejects a malformed expectedVersion with a specific error', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    for (const bad of [-1, 1.5, Number.NaN]) {
      const attempt = t.db.transaction((tx) =>
        producer.append(tx, customer('e1'), state('X'), { expectedVersion: bad }),
      );
      await expect(attempt).rejects.toMatchObject({ code: 'TM_INVALID_ARGUMENT' });
    }
  });

  it('refuses a context that is not the authority, naming the owner', async () => {
    const billing = createProducer({ context: 'billing', schema: t.schema });
    const attempt = t.db.transaction((tx) => billing.append(tx, customer('o1'), state('Leeds')));
    await expect(attempt).rejects.toBeInstanceOf(NotAuthorityError);
    await expect(attempt).rejects.toThrow(
      /context 'billing' may not write 'customer': its authority is 'profile'/,
    );
    expect(await outboxRows('o1')).toEqual([]);
  });

  it('refuses an entity type nobody owns, listing the known types', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const attempt = t.db.transaction((tx) => producer.append(tx, { type: 'policy', id: 'p1' }, state('X')));
    await expect(attempt).rejects.toBeInstanceOf(UnknownEntityTypeError);
    await expect(attempt).rejects.toThrow(
      /entity type 'policy' has no registered authority \(known: customer, invoice\)/,
    );
  });

  it('refuses to register a second authority for an owned entity type', async () => {
    await expect(
      registerAuthority(t.db, { entityType: 'customer', context: 'claims' }, t.schema),
    ).rejects.toThrow(/its authority is 'profile'/);
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
  });

  it('refuses a domain event without a type, writing nothing', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const attempt = t.db.transaction((tx) =>
      producer.append(tx, customer('d1'), { kind: 'domain', data: {} }),
    );
    await expect(attempt).rejects.toSatisfy((e) => isTidemarkError(e, 'TM_ENVELOPE_INVALID'));
    await expect(attempt).rejects.toThrow(/type: expected a non-empty string/);
    expect(await outboxRows('d1')).toEqual([]);
  });

  it.runIf(kind.concurrent)(
    'lets exactly one of many concurrent writers with the same expectedVersion win',
    async () => {
      const producer = createProducer({ context: 'profile', schema: t.schema });
      await t.db.transaction((tx) => producer.append(tx, customer('race'), state('start')));
      const attempts = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          t.db.transaction((tx) =>
            producer.append(tx, customer('race'), state(`w${i}`), { expectedVersion: 1 }),
          ),
        ),
      );
      const won = attempts.filter((a) => a.status === 'fulfilled');
      const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost.every((l) => l.reason instanceof ConcurrencyError)).toBe(true);
      expect((await outboxRows('race')).map((r) => r.entity_version)).toEqual([1, 2]);
    },
  );
});

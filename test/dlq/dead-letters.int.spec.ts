import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer, type Outcome } from '../../src/consumer/index.js';
import { createDeadLetterAdmin, type DeadLetterAdmin } from '../../src/dlq/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { createEventValidator, createSchemaSet } from '../../src/schema/index.js';

const kinds = await databaseKinds();

interface Change {
  readonly address: string;
}

const event = (entityId: string, version: number, address: string): Envelope<Change> =>
  createEnvelope({
    kind: 'domain',
    type: 'AddressChanged',
    authority: 'profile',
    entityType: 'customer',
    entityId,
    entityVersion: version,
    data: { address },
  });

describe.each(kinds)('sequenced dead-letter queue on $name', (kind) => {
  let t: TestDb;
  let backbone: PostgresLogBackbone;
  let admin: DeadLetterAdmin;
  let consumer: Consumer | undefined;
  let poisoned: (e: Envelope<Change>) => boolean;
  let beforeApply: (e: Envelope<Change>) => Promise<void>;
  const outcomes: Outcome[] = [];
  const operator = { actor: 'jane', reason: 'parser fixed in 1.4' };

  beforeEach(async () => {
    t = await kind.open();
    await t.db.query(`CREATE TABLE "${t.schema}".effects (
      seq bigserial PRIMARY KEY, entity_id text NOT NULL, version int NOT NULL, address text NOT NULL)`);
    backbone = await createPostgresLog({
      db: t.db,
      schema: t.schema,
      partitions: 4,
      timing: { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 },
    });
    admin = createDeadLetterAdmin({ db: t.db, schema: t.schema });
    outcomes.length = 0;
    poisoned = (e) => e.data?.address === 'POISON';
    beforeApply = async () => {};
    consumer = createConsumer({
      name: 'comms',
      db: t.db,
      backbone,
      schema: t.schema,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      repairIntervalMs: 50,
      onOutcome: (o) => outcomes.push(o),
      handlers: {
        customer: {
          async apply(tx, e: Envelope<Change>) {
            await beforeApply(e);
            if (poisoned(e)) throw new Error(`cannot parse address of ${e.entityid}`);
            await tx.query(
              `INSERT INTO "${t.schema}".effects (entity_id, version, address) VALUES ($1, $2, $3)`,
              [e.entityid, e.entityversion, e.data!.address],
            );
          },
        },
      },
    });
    await consumer.start();
  });
  afterEach(async () => {
    await consumer?.stop();
    await t.cleanup();
  });

  const effects = async (entityId: string) =>
    (
      await t.db.query<{ version: number; address: string }>(
        `SELECT version, address FROM "${t.schema}".effects WHERE entity_id = $1 ORDER BY seq`,
        [entityId],
      )
    ).rows.map((r) => `${r.version}:${r.address}`);
  const appliedCount = async () =>
    Number((await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM "${t.schema}".effects`)).rows[0]!.n);

  it('parks only the poisoned key; other keys keep applying; retry after the fix applies the parked events in order', async () => {
    const others = Array.from({ length: 10 }, (_, k) =>
      [1, 2, 3, 4].map((v) => event(`ok-${k}`, v, `street ${v}`)),
    );
    await backbone.publish([
      event('sick', 1, 'first'),
      event('sick', 2, 'POISON'),
      event('sick', 3, 'third'),
      event('sick', 4, 'fourth'),
      ...others.flat(),
    ]);
    await expect.poll(appliedCount, { timeout: 15_000 }).toBe(41);
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(3);
    expect(await effects('sick')).toEqual(['1:first']);
    const active = await admin.list({ consumer: 'comms' });
    expect(active.map((d) => [d.status, d.entityVersion, d.attempts])).toEqual([
      ['open', 2, 3],
      ['parked', 3, 0],
      ['parked', 4, 0],
    ]);
    expect(active[0]).toMatchObject({ code: 'TM_HANDLER_FAILED', parkedBehind: 2 });
    expect(active[0]!.reason).toMatch(/cannot parse address of sick/);
    expect(await admin.counts()).toEqual([{ consumer: 'comms', open: 1, parked: 2, parkedKeys: 1 }]);
    expect((await admin.show(active[0]!.id)).stack).toMatch(/cannot parse address/);

    // A later event of the parked key joins the queue too, even when delivered twice.
    const fifth = event('sick', 5, 'fifth');
    await backbone.publish([fifth]);
    await consumer!.handle(fifth);
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(4);

    poisoned = (e) => e.data?.address === 'never';
    const released = await admin.retry(active[0]!.id, operator);
    expect(released.status).toBe('retry');
    await expect
      .poll(() => effects('sick'), { timeout: 10_000 })
      .toEqual(['1:first', '2:POISON', '3:third', '4:fourth', '5:fifth']);
    expect(await admin.list()).toEqual([]);
    expect((await admin.list({ status: 'resolved' })).map((d) => d.entityVersion)).toEqual([2, 3, 4, 5]);
    const [audit] = await admin.audit();
    expect(audit).toMatchObject({
      actor: 'jane',
      action: 'dlq.retry',
      target: `dead-letter:${active[0]!.id}`,
      reason: 'parser fixed in 1.4',
    });
  });

  it('skip gives up on the head on purpose, and the key moves on without its effect', async () => {
    await backbone.publish([event('s', 1, 'a'), event('s', 2, 'POISON'), event('s', 3, 'c')]);
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(2);
    const [head] = await admin.list({ status: 'open' });
    const skipped = await admin.skip(head!.id, { actor: 'sam', reason: 'address already corrected by hand' });
    expect(skipped.status).toBe('skipped');
    await expect.poll(() => effects('s'), { timeout: 10_000 }).toEqual(['1:a', '3:c']);
    // A redelivery of the skipped event stays skipped.
    const [again] = await consumer!.handle((await admin.show(head!.id)).envelope);
    expect(again!.kind).toBe('duplicate');
    expect(await effects('s')).toEqual(['1:a', '3:c']);
  });

  it('edit replaces the data with a validated payload, keeps the original, and applies it', async () => {
    await backbone.publish([event('e', 1, 'POISON'), event('e', 2, 'two')]);
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(2);
    const [head] = await admin.list({ status: 'open' });
    const edited = await admin.edit(head!.id, { address: '1 Mended Street' }, operator);
    expect(edited.status).toBe('retry');
    expect((edited.originalEnvelope as Envelope<Change>).data).toEqual({ address: 'POISON' });
    await expect.poll(() => effects('e'), { timeout: 10_000 }).toEqual(['1:1 Mended Street', '2:two']);
    const [audit] = await admin.audit();
    expect(audit).toMatchObject({
      action: 'dlq.edit',
      details: { before: { address: 'POISON' }, after: { address: '1 Mended Street' } },
    });
  });

  it('refuses bad operator input with a specific error and changes nothing', async () => {
    await backbone.publish([event('b', 1, 'POISON'), event('b', 2, 'two')]);
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(2);
    const [head, parked] = await admin.list();
    const before = await admin.list({ status: 'all' });

    await expect(admin.show(999_999)).rejects.toMatchObject({ code: 'TM_DLQ_NOT_FOUND' });
    await expect(admin.skip(head!.id, { actor: 'sam', reason: '' })).rejects.toThrow(/needs a reason/);
    await expect(admin.retry(head!.id, { actor: '', reason: 'because' })).rejects.toThrow(/needs an actor/);
    await expect(admin.retry(parked!.id, operator)).rejects.toMatchObject({ code: 'TM_DLQ_STATE' });
    await expect(admin.retry(parked!.id, operator)).rejects.toThrow(/waits behind an earlier dead letter/);
    await expect(admin.edit(head!.id, 'not an object but fine', operator)).resolves.toBeDefined();
    await admin.skip(head!.id, operator);
    await expect(admin.retry(head!.id, operator)).rejects.toThrow(
      /is skipped: only open dead letters can be retried/,
    );

    const after = await admin.list({ status: 'all' });
    expect(after.map((d) => d.id)).toEqual(before.map((d) => d.id));
    expect((await admin.audit()).map((a) => a.action)).toEqual(['dlq.skip', 'dlq.edit']);
  });

  it("an operator's skip during a retry that fails again stands: the failed retry does not reopen it", async () => {
    await backbone.publish([event('r', 1, 'POISON'), event('r', 2, 'two')]);
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(2);
    const [head] = await admin.list({ status: 'open' });
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The retried payload blocks inside the drain's transaction until the operator has acted, then fails.
    beforeApply = async (e) => {
      if (e.data?.address !== 'STILL BAD') return;
      entered();
      await gate;
      throw new Error('still cannot parse the address');
    };
    await admin.edit(head!.id, { address: 'STILL BAD' }, operator);
    await inHandler;
    const skipping = admin.skip(head!.id, { actor: 'sam', reason: 'gave up on this one' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await skipping;
    await expect.poll(() => effects('r'), { timeout: 10_000 }).toEqual(['2:two']);
    expect((await admin.show(head!.id)).status).toBe('skipped');
  });

  it('refuses an edit whose payload fails the event schema, changing nothing', async () => {
    const validated = createDeadLetterAdmin({
      db: t.db,
      schema: t.schema,
      validate: createEventValidator(
        createSchemaSet([
          {
            type: 'AddressChanged',
            version: 1,
            schema: {
              type: 'object',
              required: ['address'],
              properties: { address: { type: 'string', minLength: 3 } },
            },
          },
        ]),
      ),
    });
    await backbone.publish([{ ...event('v', 1, 'POISON'), schemaversion: 1 }]);
    await expect.poll(async () => (await admin.list()).length, { timeout: 10_000 }).toBe(1);
    const [head] = await admin.list();
    await expect(validated.edit(head!.id, { address: 7 }, operator)).rejects.toMatchObject({
      code: 'TM_SCHEMA_INVALID_EVENT',
    });
    await expect(validated.edit(head!.id, { address: 7 }, operator)).rejects.toThrow(/address/);
    const after = await admin.show(head!.id);
    expect(after).toMatchObject({ status: 'open', originalEnvelope: null });
    expect((after.envelope as Envelope<Change>).data).toEqual({ address: 'POISON' });
    expect(await admin.audit()).toEqual([]);
  });

  it('dead-letters a malformed envelope at once with the attribute at fault', async () => {
    const [outcome] = await consumer!.handle({
      specversion: '1.0',
      id: 'junk',
      partitionkey: 'k',
      entityversion: -1,
    });
    expect(outcome).toMatchObject({ kind: 'dead-lettered', attempts: 1 });
    const [letter] = await admin.list();
    expect(letter).toMatchObject({ code: 'TM_ENVELOPE_INVALID', eventId: 'junk', status: 'open' });
    expect(letter!.reason).toMatch(/entityversion: expected an integer from 1/);
  });
});

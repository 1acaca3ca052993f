import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createDeadLetterAdmin, type DeadLetterAdmin } from '../../src/dlq/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';

const kinds = await databaseKinds();

interface Change {
  readonly poison?: boolean;
}

const event = (version: number, data: Change = {}): Envelope<Change> =>
  createEnvelope({
    kind: 'domain',
    type: 'CustomerAddressChanged',
    authority: 'profile',
    entityType: 'customer',
    entityId: 'k',
    entityVersion: version,
    data,
  });

/** Found by the chaos suite: a poison event and the gap buffer used to lose or misplace events. */
describe.each(kinds)('held events meet a poison event on $name', (kind) => {
  let t: TestDb;
  let consumer: Consumer;
  let admin: DeadLetterAdmin;

  beforeEach(async () => {
    t = await kind.open();
    await t.db.query(`CREATE TABLE "${t.schema}".effects (version int PRIMARY KEY)`);
    admin = createDeadLetterAdmin({ db: t.db, schema: t.schema });
    consumer = createConsumer({
      name: 'claims',
      db: t.db,
      schema: t.schema,
      backbone: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 1 }),
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      handlers: {
        customer: {
          async apply(tx, e: Envelope<Change>) {
            if (e.data?.poison) throw new Error(`version ${e.entityversion} cannot be parsed`);
            await tx.query(`INSERT INTO "${t.schema}".effects (version) VALUES ($1)`, [e.entityversion]);
          },
        },
      },
    });
  });
  afterEach(async () => {
    await consumer.stop();
    await t.cleanup();
  });

  const effects = async () =>
    (
      await t.db.query<{ version: number }>(`SELECT version FROM "${t.schema}".effects ORDER BY version`)
    ).rows.map((r) => Number(r.version));
  const queue = async () =>
    (await admin.list({ status: 'active' })).map((d) => `v${d.entityVersion}:${d.status}`);

  it('a held event released by the event that closed its gap fails alone: the gap-closer stays applied', async () => {
    await consumer.handle(event(1));
    expect((await consumer.handle(event(3, { poison: true })))[0]!.kind).toBe('held');
    await consumer.handle(event(4));
    const outcomes = await consumer.handle(event(2));
    expect(outcomes.map((o) => `${o.kind}:v${o.envelope.entityversion}`)).toEqual([
      'applied:v2',
      'dead-lettered:v3',
    ]);
    expect(outcomes[1]!.reason).toMatch(
      /version 3 cannot be parsed \(failed when released after its gap closed\)/,
    );
    expect(await effects()).toEqual([1, 2]);
    expect(await queue()).toEqual(['v3:open', 'v4:parked']);
    const [head] = await admin.list({ status: 'open' });
    await admin.edit(head!.id, {}, { actor: 'sam', reason: 'export fixed by hand' });
    await consumer.repair();
    expect(await effects()).toEqual([1, 2, 3, 4]);
    expect(await queue()).toEqual([]);
  });

  it('events held for a version that is then dead-lettered are parked behind it, not left waiting', async () => {
    await consumer.handle(event(1));
    expect((await consumer.handle(event(3)))[0]!.kind).toBe('held');
    expect((await consumer.handle(event(2, { poison: true })))[0]!.kind).toBe('dead-lettered');
    expect(await consumer.heldCount()).toBe(0);
    expect(await queue()).toEqual(['v2:open', 'v3:parked']);
    const [head] = await admin.list({ status: 'open' });
    await admin.skip(head!.id, { actor: 'sam', reason: 'version 2 was never valid' });
    await consumer.repair();
    expect(await effects()).toEqual([1, 3]);
    expect(await queue()).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';

const kinds = await databaseKinds();

/** Found by the chaos suite: an event larger than NATS carries used to block the relay for good. */
describe.each(kinds)('event size limit on $name', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'document', context: 'archive' }, t.schema);
  });
  afterAll(() => t.cleanup());

  const outboxRows = async () =>
    Number(
      (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${t.schema}".outbox`)).rows[0]!.n,
    );

  it('refuses an event over maxEventBytes before anything is written, naming size, limit and the fix', async () => {
    const producer = createProducer({ context: 'archive', schema: t.schema, maxEventBytes: 10_000 });
    const big = { text: 'x'.repeat(20_000) };
    await expect(
      t.db.transaction((tx) =>
        producer.append(
          tx,
          { type: 'document', id: 'd-1' },
          { kind: 'domain', type: 'DocumentFiled', data: big },
        ),
      ),
    ).rejects.toMatchObject({
      code: 'TM_EVENT_TOO_LARGE',
      message: expect.stringMatching(
        /DocumentFiled for document\/d-1 is \d+ bytes, over the limit of 10000; .*claim check/,
      ),
    });
    expect(await outboxRows()).toBe(0);
    await t.db.transaction((tx) =>
      producer.append(
        tx,
        { type: 'document', id: 'd-1' },
        { kind: 'domain', type: 'DocumentFiled', data: { text: 'short' } },
      ),
    );
    expect(await outboxRows()).toBe(1);
  });

  it('defaults to a limit under NATS’ 1 MiB', async () => {
    const producer = createProducer({ context: 'archive', schema: t.schema });
    await expect(
      t.db.transaction((tx) =>
        producer.append(
          tx,
          { type: 'document', id: 'd-2' },
          { kind: 'state', data: { text: 'x'.repeat(1_048_576) } },
        ),
      ),
    ).rejects.toMatchObject({ code: 'TM_EVENT_TOO_LARGE' });
  });
});

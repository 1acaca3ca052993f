import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDb, type TestDb } from '../support/services.js';
import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createEnvelope } from '../../src/envelope/index.js';
import { replay } from '../../src/replay/index.js';
import { sleep } from '../../src/util/wakeup.js';

const customer = (entityId: string) =>
  createEnvelope({
    kind: 'state',
    authority: 'profile',
    entityType: 'customer',
    entityId,
    entityVersion: 1,
    data: {},
  });

/** `tidemark replay --from-time/--to-time`: the time bounds select by when the log appended each event. */
describe('replay by time range (PGlite, postgres-log)', () => {
  let t: TestDb;
  let backbone: PostgresLogBackbone;
  let consumer: Consumer;
  const seen: string[] = [];
  let afterFirst: Date;
  let afterSecond: Date;

  // Appends are separate transactions; a pause keeps each cut strictly between two of them.
  const cut = async () => {
    await sleep(20);
    const now = (await t.db.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
    await sleep(20);
    return now;
  };

  beforeAll(async () => {
    t = await embeddedDb();
    backbone = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2 });
    // Never started: replay alone delivers to it, through its normal handle path.
    consumer = createConsumer({
      name: 'billing',
      db: t.db,
      backbone,
      schema: t.schema,
      handlers: {
        customer: {
          async apply(_tx, e) {
            seen.push(e.entityid);
          },
        },
      },
    });
    await backbone.publish(['a', 'b', 'c'].map(customer));
    afterFirst = await cut();
    await backbone.publish(['d', 'e'].map(customer));
    afterSecond = await cut();
    await backbone.publish([customer('f')]);
  });
  afterAll(async () => {
    await backbone.close();
    await t.cleanup();
  });

  it('delivers exactly the events appended between --from-time and --to-time', async () => {
    const result = await replay({ consumer, backbone, query: { fromTime: afterFirst, toTime: afterSecond } });
    expect(result).toMatchObject({ delivered: 2, total: 2, applied: 2 });
    expect(seen.sort()).toEqual(['d', 'e']);
  });

  it('from a time alone runs to the end of the log, and events already there change nothing', async () => {
    seen.length = 0;
    const result = await replay({ consumer, backbone, query: { fromTime: afterFirst } });
    expect(result).toMatchObject({ delivered: 3, applied: 1, duplicate: 2 });
    expect(seen).toEqual(['f']);
  });
});

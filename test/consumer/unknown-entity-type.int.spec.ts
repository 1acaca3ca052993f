import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { embeddedDb, type TestDb } from '../support/services.js';
import { createConsumer } from '../../src/consumer/index.js';
import { createDeadLetterAdmin } from '../../src/dlq/index.js';
import { createEnvelope } from '../../src/envelope/index.js';
import type { Backbone } from '../../src/backbone/index.js';

/** The consumer is driven through `handle`; the backbone is never used. */
const unusedBackbone = {} as Backbone;

const event = (entityType: string, entityId: string) =>
  createEnvelope({ kind: 'state', authority: 'profile', entityType, entityId, entityVersion: 1, data: {} });

describe('an event of an entity type the consumer has no handler for (PGlite)', () => {
  let t: TestDb;
  beforeEach(async () => {
    t = await embeddedDb();
  });
  afterEach(() => t.cleanup());

  it('is dead-lettered at once with TM_NO_HANDLER naming the type and the fix; other events still apply', async () => {
    const applied: string[] = [];
    const consumer = createConsumer({
      name: 'billing',
      db: t.db,
      backbone: unusedBackbone,
      schema: t.schema,
      retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 },
      handlers: {
        customer: {
          async apply(_tx, e) {
            applied.push(e.entityid);
          },
        },
      },
    });

    const [stray] = await consumer.handle(event('invoice', 'inv-1'));
    expect(stray).toMatchObject({ kind: 'dead-lettered', attempts: 1 });
    expect(stray!.reason).toMatch(
      /consumer 'billing' has no handler for entity type 'invoice'; add one under handlers\.invoice/,
    );
    const [letter] = await createDeadLetterAdmin({ db: t.db, schema: t.schema }).list({
      consumer: 'billing',
    });
    expect(letter).toMatchObject({ code: 'TM_NO_HANDLER', status: 'open', entityVersion: 1 });

    const [ok] = await consumer.handle(event('customer', 'c1'));
    expect(ok).toMatchObject({ kind: 'applied' });
    expect(applied).toEqual(['c1']);
  });
});

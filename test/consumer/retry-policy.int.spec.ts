import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { embeddedDb, type TestDb } from '../support/services.js';
import { createConsumer, type Consumer, type Outcome, type RetryPolicy } from '../../src/consumer/index.js';
import { createDeadLetterAdmin } from '../../src/dlq/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import type { Backbone } from '../../src/backbone/index.js';
import { TidemarkError } from '../../src/errors.js';

/** The consumer is driven through `handle`; the backbone is never used. */
const unusedBackbone = {} as Backbone;

class ValidationFailure extends Error {}

const change = (entityId: string, failure: string): Envelope =>
  createEnvelope({
    kind: 'domain',
    type: 'Changed',
    authority: 'profile',
    entityType: 'customer',
    entityId,
    entityVersion: 1,
    data: { failure },
  });

/** Retry policy per consumer: attempt counts, and the retryable / non-retryable classification. */
describe('consumer retry policy (PGlite)', () => {
  let t: TestDb;
  let calls: Map<string, number>;
  beforeEach(async () => {
    t = await embeddedDb();
    calls = new Map();
  });
  afterEach(() => t.cleanup());

  function consumerWith(retry: RetryPolicy, outcomes: Outcome[] = []): Consumer {
    return createConsumer({
      name: 'billing',
      db: t.db,
      backbone: unusedBackbone,
      schema: t.schema,
      retry: { baseDelayMs: 1, maxDelayMs: 2, ...retry },
      onOutcome: (o) => outcomes.push(o),
      handlers: {
        customer: {
          async apply(_tx, event) {
            calls.set(event.entityid, (calls.get(event.entityid) ?? 0) + 1);
            const { failure } = event.data as { failure: string };
            if (failure === 'transient') throw new Error('downstream timeout');
            if (failure === 'validation') throw new ValidationFailure('postcode missing');
            if (failure === 'typed-permanent')
              throw new TidemarkError('TM_HANDLER_FAILED', 'unknown tariff', { retryable: false });
          },
        },
      },
    });
  }

  it('retries a transient failure exactly `attempts` times, then dead-letters it with that count visible', async () => {
    const outcomes: Outcome[] = [];
    const [outcome] = await consumerWith({ attempts: 4 }, outcomes).handle(change('c1', 'transient'));
    expect(outcome).toMatchObject({ kind: 'dead-lettered', attempts: 4 });
    expect(calls.get('c1')).toBe(4);
    expect(outcomes.map((o) => [o.kind, o.attempts])).toEqual([['dead-lettered', 4]]);
    const [letter] = await createDeadLetterAdmin({ db: t.db, schema: t.schema }).list({
      consumer: 'billing',
    });
    expect(letter).toMatchObject({ status: 'open', attempts: 4, code: 'TM_HANDLER_FAILED' });
    expect(letter!.reason).toMatch(/downstream timeout/);
  });

  it('dead-letters a TidemarkError marked not retryable on the first attempt (default classification)', async () => {
    const [outcome] = await consumerWith({ attempts: 5 }).handle(change('c2', 'typed-permanent'));
    expect(outcome).toMatchObject({ kind: 'dead-lettered', attempts: 1 });
    expect(calls.get('c2')).toBe(1);
  });

  it('by default retries any other error, and a configured isRetryable makes it permanent', async () => {
    const [byDefault] = await consumerWith({ attempts: 3 }).handle(change('c3', 'validation'));
    expect(byDefault).toMatchObject({ kind: 'dead-lettered', attempts: 3 });
    expect(calls.get('c3')).toBe(3);

    const classified = consumerWith({
      attempts: 3,
      isRetryable: (error) => !(error instanceof ValidationFailure),
    });
    const [permanent] = await classified.handle(change('c4', 'validation'));
    expect(permanent).toMatchObject({ kind: 'dead-lettered', attempts: 1 });
    expect(calls.get('c4')).toBe(1);
    // The same policy still retries what it classifies as retryable.
    const [transient] = await classified.handle(change('c5', 'transient'));
    expect(transient).toMatchObject({ kind: 'dead-lettered', attempts: 3 });
    expect(calls.get('c5')).toBe(3);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { consumerStall, createMetrics, registerConsumerStallCollector } from '../../src/obs/index.js';

const kinds = await databaseKinds();
const authority = 'customer-profile';
const timing = { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 };

describe.each(kinds)('consumer stalled while having work on $name', (kind) => {
  let t: TestDb;
  let consumer: Consumer;
  let release: () => void;
  const stallAfterMs = 50;

  beforeEach(async () => {
    t = await kind.open();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    const log = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2, timing });
    const gate = new Promise<void>((resolve) => (release = resolve));
    consumer = createConsumer({
      name: 'billing',
      db: t.db,
      schema: t.schema,
      backbone: log,
      // A handler waiting on something that does not answer (a lock, a remote call).
      handlers: { customer: { apply: () => gate } },
    });
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id: 'c-1' },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
      ),
    );
    // Another suite's open transaction on the shared server can hold the row back for a while.
    const relay = createRelay({ db: t.db, backbone: log, schema: t.schema });
    let relayed = 0;
    await expect.poll(async () => (relayed += await relay.drain()), { timeout: 30_000 }).toBe(1);
  });
  afterEach(async () => {
    release();
    await consumer.stop();
    await t.cleanup();
  });

  it('reports stalled while a delivered event does not finish, and not once it does', async () => {
    const metrics = createMetrics();
    registerConsumerStallCollector(metrics, consumer, { stallAfterMs });
    const stalled = async () =>
      (await metrics.registry.getSingleMetric('tidemark_consumer_stalled')!.get()).values.find(
        (v) => v.labels.consumer === 'billing',
      )?.value;

    // Given an idle consumer: not stalled
    expect(consumerStall('billing', consumer.progress!(), stallAfterMs).stalled).toBe(false);
    expect(await stalled()).toBe(0);

    // When it starts and its handler never returns
    await consumer.start();
    await expect.poll(stalled, { timeout: 45_000 }).toBe(1);
    const stall = consumerStall('billing', consumer.progress!(), stallAfterMs);
    expect(stall.stalled).toBe(true);
    expect(stall.explanation).toMatch(
      /consumer 'billing' has had 1 batch in hand since .* finished no event/,
    );

    // Then, once the handler answers, the event is applied and the stall clears
    release();
    await expect.poll(() => consumer.appliedVersion('customer', 'c-1'), { timeout: 45_000 }).toBe(1);
    await expect.poll(stalled, { timeout: 45_000 }).toBe(0);
    expect(consumer.progress!().lastProgressAt).toBeDefined();
  }, 150_000);
});

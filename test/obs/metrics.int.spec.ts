import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { embeddedDb, ownEmbeddedDb, type TestDb } from '../support/services.js';
import { parseExposition, sumOf, valueOf, type Sample } from './exposition.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createPostgresLog, type PostgresLogBackbone } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createDeadLetterAdmin, type DeadLetterAdmin } from '../../src/dlq/index.js';
import { createEnvelope } from '../../src/envelope/index.js';
import { TidemarkError } from '../../src/errors.js';
import {
  createMetrics,
  observeConsumer,
  registerConsumerCollector,
  registerDeadLetterCollector,
  registerGroupLagCollector,
  registerRelayCollector,
  type Metrics,
} from '../../src/obs/index.js';

interface Address {
  readonly city: string;
}

describe('metrics of a pipeline on PGlite', () => {
  let t: TestDb;
  let metrics: Metrics;
  let backbone: PostgresLogBackbone;
  let relay: Relay;
  let admin: DeadLetterAdmin;
  let consumer: Consumer | undefined;
  let change: (id: string, city: string) => Promise<unknown>;
  const scrape = async (): Promise<Sample[]> => parseExposition(await metrics.registry.metrics());
  const billing = { consumer: 'billing' };
  const events = (samples: Sample[], outcome: string) =>
    valueOf(samples, 'tidemark_consumer_events_total', { consumer: 'billing', outcome });

  beforeEach(async () => {
    t = await embeddedDb();
    const { db, schema } = t;
    await registerAuthority(db, { entityType: 'customer', context: 'profile' }, schema);
    await db.query(
      `CREATE TABLE "${schema}".billing_customers (id text PRIMARY KEY, city text, version int)`,
    );
    const producer = createProducer({ context: 'profile', schema });
    change = (id, city) =>
      db.transaction((tx) =>
        producer.append(tx, { type: 'customer', id }, { kind: 'state', data: { city } }),
      );
    backbone = await createPostgresLog({
      db,
      schema,
      partitions: 4,
      timing: { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 },
    });
    relay = createRelay({ db, backbone, schema });
    admin = createDeadLetterAdmin({ db, schema });
    metrics = createMetrics();
    registerRelayCollector(metrics, relay);
    registerGroupLagCollector(metrics, backbone, 'billing');
    registerDeadLetterCollector(metrics, admin);
    consumer = createConsumer({
      name: 'billing',
      db,
      backbone,
      schema,
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      onOutcome: observeConsumer(metrics, 'billing'),
      handlers: {
        customer: {
          async apply(tx, event) {
            const data = event.data as Address;
            if (data.city === 'POISON') {
              throw new TidemarkError('TM_HANDLER_FAILED', `unknown city for ${event.entityid}`, {
                retryable: false,
              });
            }
            await tx.query(
              `INSERT INTO "${schema}".billing_customers VALUES ($1, $2, $3)
               ON CONFLICT (id) DO UPDATE SET city = $2, version = $3`,
              [event.entityid, data.city, event.entityversion],
            );
          },
        },
      },
    });
    registerConsumerCollector(metrics, consumer);
  });
  afterEach(async () => {
    await consumer?.stop();
    await t.cleanup();
  });

  it('shows the backlog before the relay drains and none after; counts what was relayed', async () => {
    // Given five committed changes and a relay that has not run
    for (const [id, city] of [
      ['c1', 'Leeds'],
      ['c2', 'York'],
      ['c3', 'Bath'],
      ['bad', 'POISON'],
      ['bad', 'Hull'],
    ] as const) {
      await change(id, city);
    }
    let samples = await scrape();
    expect(valueOf(samples, 'tidemark_outbox_backlog', { relay: 'default' })).toBe(5);
    expect(valueOf(samples, 'tidemark_relay_relayed_total', { relay: 'default' })).toBe(0);
    // PGlite has one connection: no other transaction can be open and hold the relay back.
    expect(valueOf(samples, 'tidemark_relay_oldest_open_transaction_seconds', { relay: 'default' })).toBe(0);

    // When the relay drains
    expect(await relay.drain()).toBe(5);

    // Then the backlog is gone and the relayed count says where it went
    samples = await scrape();
    expect(valueOf(samples, 'tidemark_outbox_backlog', { relay: 'default' })).toBe(0);
    expect(valueOf(samples, 'tidemark_relay_relayed_total', { relay: 'default' })).toBe(5);
    expect(sumOf(samples, 'tidemark_collector_errors_total')).toBe(0);
  });

  it('counts consumer outcomes and latency, dead letters, parked keys, held events and group lag', async () => {
    // Given three good changes, a poisoned one, and a later change of the poisoned key
    await change('c1', 'Leeds');
    await change('c2', 'York');
    await change('c3', 'Bath');
    await change('bad', 'POISON');
    await change('bad', 'Hull');
    await relay.drain();

    // Before the consumer runs, every outcome series exists at 0 and the group has no lag series.
    let samples = await scrape();
    expect(events(samples, 'applied')).toBe(0);
    expect(events(samples, 'dead-lettered')).toBe(0);
    expect(samples.filter((s) => s.name === 'tidemark_consumer_lag_events')).toEqual([]);

    // When the consumer takes everything
    await consumer!.start();
    await expect
      .poll(async () => {
        const now = await scrape();
        return [events(now, 'applied'), events(now, 'dead-lettered'), events(now, 'parked')];
      })
      .toEqual([3, 1, 1]);
    await expect
      .poll(async () => sumOf(await scrape(), 'tidemark_consumer_lag_events', { group: 'billing' }))
      .toBe(0);

    // Then the exposition tells the whole story
    samples = await scrape();
    expect(valueOf(samples, 'tidemark_propagation_latency_seconds_count', billing)).toBe(3);
    expect(valueOf(samples, 'tidemark_propagation_latency_seconds_bucket', { ...billing, le: '+Inf' })).toBe(
      3,
    );
    expect(valueOf(samples, 'tidemark_propagation_latency_seconds_sum', billing)).toBeGreaterThan(0);
    expect(valueOf(samples, 'tidemark_dlq_messages', { ...billing, status: 'open' })).toBe(1);
    expect(valueOf(samples, 'tidemark_dlq_messages', { ...billing, status: 'parked' })).toBe(1);
    expect(valueOf(samples, 'tidemark_parked_keys', billing)).toBe(1);
    expect(valueOf(samples, 'tidemark_consumer_held_events', billing)).toBe(0);
    const partitions = samples.filter((s) => s.name === 'tidemark_consumer_lag_events');
    expect(partitions.map((s) => s.labels.partition).sort()).toEqual(['0', '1', '2', '3']);

    // When a domain event arrives ahead of a missing version, it is held and shown as held
    const ahead = createEnvelope({
      kind: 'domain',
      type: 'AddressChanged',
      authority: 'profile',
      entityType: 'customer',
      entityId: 'c9',
      entityVersion: 2,
      data: { city: 'Ely' },
    });
    expect((await consumer!.handle(ahead)).map((o) => o.kind)).toEqual(['held']);
    samples = await scrape();
    expect(events(samples, 'held')).toBe(1);
    expect(valueOf(samples, 'tidemark_consumer_held_events', billing)).toBe(1);

    // When the consumer is down and another change is relayed, the group lags by one event
    await consumer!.stop();
    await change('c1', 'Wakefield');
    expect(await relay.drain()).toBe(1);
    samples = await scrape();
    expect(sumOf(samples, 'tidemark_consumer_lag_events', { group: 'billing' })).toBe(1);
    expect(valueOf(samples, 'tidemark_relay_relayed_total', { relay: 'default' })).toBe(6);
    expect(valueOf(samples, 'tidemark_outbox_backlog', { relay: 'default' })).toBe(0);

    // When an operator skips the poisoned head and the parked event is applied by a repair pass
    const [head] = await admin.list({ status: 'open' });
    await admin.skip(head!.id, { actor: 'jane', reason: 'customer record fixed by hand' });
    expect(await consumer!.repair()).toEqual({ resolved: 1, failed: 0 });

    // Then the dead-letter gauges fall to 0 rather than vanishing, so alerts on them resolve
    samples = await scrape();
    expect(valueOf(samples, 'tidemark_dlq_messages', { ...billing, status: 'open' })).toBe(0);
    expect(valueOf(samples, 'tidemark_dlq_messages', { ...billing, status: 'parked' })).toBe(0);
    expect(valueOf(samples, 'tidemark_parked_keys', billing)).toBe(0);
    expect(events(samples, 'applied')).toBe(4);
    expect(sumOf(samples, 'tidemark_collector_errors_total')).toBe(0);
  });
});

describe('a collector whose database is gone', () => {
  it('counts the error and still answers the scrape', async () => {
    // Given a relay collector over a database that is then closed
    const own = await ownEmbeddedDb();
    const backbone = await createPostgresLog({ db: own.db, schema: own.schema, partitions: 1 });
    const relay = createRelay({ db: own.db, backbone, schema: own.schema });
    const metrics = createMetrics();
    const errors: unknown[] = [];
    registerRelayCollector(metrics, relay, { onError: (error) => errors.push(error) });
    expect(
      valueOf(parseExposition(await metrics.registry.metrics()), 'tidemark_outbox_backlog', {
        relay: 'default',
      }),
    ).toBe(0);
    await own.cleanup();

    // When Prometheus scrapes
    const samples = parseExposition(await metrics.registry.metrics());

    // Then the scrape succeeds, the failure is counted, and the gauge keeps its last value
    expect(valueOf(samples, 'tidemark_collector_errors_total', { collector: 'relay', reason: 'error' })).toBe(
      1,
    );
    expect(valueOf(samples, 'tidemark_outbox_backlog', { relay: 'default' })).toBe(0);
    expect(errors).toHaveLength(1);
  });
});

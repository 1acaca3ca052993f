import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { createNatsJetStream, type NatsJetStreamBackbone } from '../../src/backbone/nats-jetstream/index.js';
import { natsAvailable, natsServers, uniqueStream } from '../contract/backbone/nats-service.js';
import { workload } from '../../src/testing/backbone-workload.js';

const available = await natsAvailable();

/**
 * What the adapter leaves on the server, read back through the JetStream API: the stream's
 * retention, storage and duplicate window, and durable pull consumers with explicit ack, the
 * configured ack wait and max deliveries.
 */
describe.runIf(available)('nats-jetstream: stream and durable consumers on the server', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let backbone: NatsJetStreamBackbone;
  const names = uniqueStream();

  beforeAll(async () => {
    nc = await connect({ servers: natsServers });
    jsm = await jetstreamManager(nc);
    backbone = await createNatsJetStream({
      servers: natsServers,
      ...names,
      partitions: 3,
      ackWaitMs: 7_000,
      maxDeliver: 9,
      duplicateWindowMs: 90_000,
      leaseTtlMs: 1_500,
      pollMs: 250,
    });
  });
  afterAll(async () => {
    await backbone.dangerous.destroy();
    await backbone.close();
    await nc.close();
  });

  it('creates the stream with limits retention, file storage and the configured duplicate window', async () => {
    const { config } = await jsm.streams.info(names.stream);
    expect(config).toMatchObject({
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: nanos(90_000),
    });
    expect([...config.subjects].sort()).toEqual([0, 1, 2].map((p) => `${names.subjectPrefix}.p.${p}`));
  });

  it('pulls through one durable consumer per partition with explicit ack, the ack wait and max deliveries', async () => {
    const published = workload(6, 2).flat();
    const received = new Set<string>();
    const subscription = await backbone.subscribe('billing', async (messages) => {
      for (const m of messages) received.add(m.envelope.id);
    });
    await backbone.publish(published);
    await expect.poll(() => received.size, { timeout: 15_000 }).toBe(published.length);
    await subscription.stop();

    const consumers: ConsumerInfo[] = [];
    for await (const info of jsm.consumers.list(names.stream)) consumers.push(info);
    const filters = consumers.map((c) => c.config.filter_subject).sort();
    expect(filters).toEqual([0, 1, 2].map((p) => `${names.subjectPrefix}.p.${p}`));
    for (const { config } of consumers) {
      expect(config.durable_name).toBeTruthy();
      expect(config).toMatchObject({
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(7_000),
        max_deliver: 9,
      });
    }
  });
});

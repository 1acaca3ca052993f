import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, RetentionPolicy, type JetStreamManager } from '@nats-io/jetstream';
import {
  createNatsJetStream,
  type NatsJetStreamOptions,
} from '../../../src/backbone/nats-jetstream/index.js';
import { partitionOf } from '../../../src/backbone/partition.js';
import { workload } from '../../../src/testing/backbone-workload.js';
import { natsAvailable, natsServers, uniqueStream } from './nats-service.js';
import { rejection, unusedPort } from './startup-failures.js';

describe('nats-jetstream: unreachable server', () => {
  it('fails with TM_SERVICE_UNREACHABLE naming the address and what to check', async () => {
    // Given an address where no server listens
    const port = await unusedPort();

    // When the adapter is created
    const error = await rejection(
      createNatsJetStream({ servers: `127.0.0.1:${port}`, ...uniqueStream(), requestTimeoutMs: 2_000 }),
    );

    // Then the error says where and what to do
    expect(error.code).toBe('TM_SERVICE_UNREACHABLE');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('JetStream enabled (-js)');
    expect(error.context).toEqual({ servers: [`127.0.0.1:${port}`] });
  });

  it('rejects invalid names before connecting, naming the option', async () => {
    const error = await rejection(
      createNatsJetStream({ servers: natsServers, stream: 'has.dots', subjectPrefix: 'ok' }),
    );
    expect(error.code).toBe('TM_INVALID_ARGUMENT');
    expect(error.message).toContain('option stream');
    expect(error.message).toContain('"has.dots"');
  });
});

const available = await natsAvailable();

describe.runIf(available)('nats-jetstream: stream configuration', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const created: string[] = [];

  beforeAll(async () => {
    nc = await connect({ servers: natsServers });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const stream of created) {
      await jsm.streams.delete(stream).catch(() => {});
      await jsm.streams.delete(`KV_${stream}_leases`).catch(() => {});
    }
    await nc.close();
  });

  /** Options for a stream of its own, deleted after the file's tests. */
  function fresh(extra: Partial<NatsJetStreamOptions> = {}): NatsJetStreamOptions {
    const names = uniqueStream();
    created.push(names.stream);
    return { servers: natsServers, ...names, leaseTtlMs: 1_500, pollMs: 250, ...extra };
  }

  it('refuses an existing stream with another partition count, and says which count to configure', async () => {
    // Given a stream created with 4 partitions
    const options = fresh({ partitions: 4 });
    const first = await createNatsJetStream(options);
    await first.close();

    // When an instance is configured with 8
    const error = await rejection(createNatsJetStream({ ...options, partitions: 8 }));

    // Then it is refused, and the stream is left as it was
    expect(error.code).toBe('TM_STREAM_MISMATCH');
    expect(error.message).toContain(`NATS stream '${options.stream}'`);
    expect(error.message).toContain('partitions: 4');
    expect(error.context.differences).toEqual([expect.objectContaining({ setting: 'subjects' })]);
    const info = await jsm.streams.info(options.stream);
    expect(info.config.subjects).toHaveLength(4);
  });

  it('refuses an existing stream whose storage and duplicate window differ, naming both', async () => {
    const options = fresh({ storage: 'memory', duplicateWindowMs: 30_000 });
    await (await createNatsJetStream(options)).close();

    const error = await rejection(
      createNatsJetStream({ ...options, storage: 'file', duplicateWindowMs: 60_000 }),
    );

    expect(error.code).toBe('TM_STREAM_MISMATCH');
    expect(error.message).toContain("storage: 'memory'");
    expect(error.message).toContain('duplicateWindowMs: 30000');
  });

  it('refuses a stream created elsewhere with work-queue retention (one group would starve the others)', async () => {
    // Given a stream with the right subjects but work-queue retention
    const options = fresh({ partitions: 2 });
    await jsm.streams.add({
      name: options.stream,
      subjects: [`${options.subjectPrefix}.p.0`, `${options.subjectPrefix}.p.1`],
      retention: RetentionPolicy.Workqueue,
      duplicate_window: 120_000_000_000,
    });

    const error = await rejection(createNatsJetStream(options));

    expect(error.code).toBe('TM_STREAM_MISMATCH');
    expect(error.message).toContain('retention is "workqueue", configured "limits"');
  });

  it('refuses a lease TTL that differs from the one the stream’s members already use', async () => {
    const options = fresh();
    await (await createNatsJetStream(options)).close();

    const error = await rejection(createNatsJetStream({ ...options, leaseTtlMs: 3_000 }));

    expect(error.code).toBe('TM_STREAM_MISMATCH');
    expect(error.message).toContain('configure leaseTtlMs: 1500');
  });

  it('reuses a matching stream: a second instance receives what the first published', async () => {
    // Given events published through one instance
    const options = fresh({ partitions: 4 });
    const first = await createNatsJetStream(options);
    const published = workload(5, 2).flat();
    await first.publish(published);
    await first.close();

    // When another instance with the same options subscribes
    const second = await createNatsJetStream(options);
    const received = new Set<string>();
    await second.subscribe('g', async (messages) => {
      for (const m of messages) received.add(m.envelope.id);
    });

    // Then it gets all of them
    await expect.poll(() => received.size, { timeout: 10_000 }).toBe(published.length);
    await second.close();
  });

  it('stores each event on <prefix>.p.<partition of its key> with Nats-Msg-Id = event id', async () => {
    const options = fresh({ partitions: 4 });
    const backbone = await createNatsJetStream(options);
    const published = workload(6, 1).flat();
    await backbone.publish(published);
    await backbone.close();

    const stored = [];
    for (let seq = 1; seq <= published.length; seq++) {
      const m = (await jsm.streams.getMessage(options.stream, { seq }))!;
      stored.push({ subject: m.subject, msgId: m.header.get('Nats-Msg-Id'), envelope: m.json() });
    }
    const bySeq = new Map(stored.map((s) => [s.msgId, s]));
    for (const envelope of published) {
      expect(bySeq.get(envelope.id)).toEqual({
        subject: `${options.subjectPrefix}.p.${partitionOf(envelope.partitionkey, 4)}`,
        msgId: envelope.id,
        envelope,
      });
    }
  });

  it('refuses a transactional publish and any use after close', async () => {
    const backbone = await createNatsJetStream(fresh());
    expect(backbone.capabilities.transactionalPublish).toBe(false);
    const inTx = await rejection(
      backbone.publish(workload(1, 1).flat(), { tx: { query: async () => ({ rows: [], rowCount: 0 }) } }),
    );
    expect(inTx.code).toBe('TM_INVALID_ARGUMENT');
    await backbone.close();
    const afterClose = await rejection(backbone.publish(workload(1, 1).flat()));
    expect(afterClose.code).toBe('TM_CLOSED');
  });
});

import { describe, expect, it } from 'vitest';
import amqp from 'amqplib';
import { createRabbitMq, tidemarkDeadLetters } from '../../src/backbone/rabbitmq/index.js';
import { workload } from '../../src/testing/backbone-workload.js';
import { rabbitAvailable, rabbitUrl, uniquePrefix } from '../contract/backbone/rabbitmq-service.js';
import { postgresAvailable, serverDb } from '../support/services.js';
import { rejection, unusedPort } from '../contract/backbone/startup-failures.js';

describe('rabbitmq: start-up failures', () => {
  it('fails with TM_SERVICE_UNREACHABLE naming the address when no broker listens', async () => {
    const port = await unusedPort();
    const error = await rejection(
      createRabbitMq({
        url: `amqp://guest:guest@127.0.0.1:${port}`,
        prefix: uniquePrefix(),
        connectTimeoutMs: 2_000,
      }),
    );
    expect(error.code).toBe('TM_SERVICE_UNREACHABLE');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('rabbitmq-server is running');
    expect(error.message).not.toContain('guest:guest');
  });

  it('under REQUIRE_SERVICES=1 an unreachable broker fails the suite instead of skipping it', async () => {
    const port = await unusedPort();
    const url = `amqp://guest:guest@127.0.0.1:${port}`;
    await expect(rabbitAvailable(url, true)).rejects.toThrow(
      /REQUIRE_SERVICES=1 but RabbitMQ is unreachable/,
    );
    await expect(rabbitAvailable(url, false)).resolves.toBe(false);
  });

  it('rejects a malformed url and prefix before connecting, naming the option', async () => {
    const badUrl = await rejection(createRabbitMq({ url: 'http://x', prefix: 'ok' }));
    expect(badUrl.code).toBe('TM_INVALID_ARGUMENT');
    expect(badUrl.message).toContain('option url');
    const badPrefix = await rejection(createRabbitMq({ url: rabbitUrl, prefix: 'has space' }));
    expect(badPrefix.message).toContain('option prefix');
    const classicLimit = await rejection(
      createRabbitMq({ url: rabbitUrl, prefix: 'ok', queueType: 'classic', deliveryLimit: 3 }),
    );
    expect(classicLimit.message).toContain('option deliveryLimit');
  });
});

const available = await rabbitAvailable();

describe.runIf(available)('rabbitmq: against the broker', () => {
  it('refuses a wrong password with TM_BACKBONE_ACCESS_DENIED, hiding the password', async () => {
    const url = new URL(rabbitUrl);
    url.password = 'not-the-password';
    const error = await rejection(createRabbitMq({ url: url.toString(), prefix: uniquePrefix() }));
    expect(error.code).toBe('TM_BACKBONE_ACCESS_DENIED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('***@127.0.0.1');
    expect(error.message).not.toContain('not-the-password');
    expect(error.message).toContain('set_permissions');
  });

  it('refuses an instance configured with another partition count than the exchange was made with', async () => {
    const prefix = uniquePrefix();
    const first = await createRabbitMq({ url: rabbitUrl, prefix, partitions: 4 });
    try {
      const error = await rejection(createRabbitMq({ url: rabbitUrl, prefix, partitions: 8 }));
      expect(error.code).toBe('TM_STREAM_MISMATCH');
      expect(error.message).toContain(`prefix '${prefix}'`);
      expect(error.message).toContain('(partitions: 4)');
    } finally {
      await first.dangerous.destroy([]);
      await first.close();
    }
  });

  it('creates the queues of configured groups at start-up, so events published before any subscriber are kept', async () => {
    // Given an instance that only publishes, configured with group "late"
    const prefix = uniquePrefix();
    const producer = await createRabbitMq({ url: rabbitUrl, prefix, partitions: 2, groups: ['late'] });
    const published = workload(4, 2).flat();
    await producer.publish(published);

    // When a consumer of "late" starts afterwards
    const consumer = await createRabbitMq({ url: rabbitUrl, prefix, partitions: 2 });
    const received: string[] = [];
    const sub = await consumer.subscribe('late', async (messages) => {
      for (const m of messages) received.push(m.envelope.id);
    });

    // Then it receives everything
    await expect.poll(() => new Set(received).size, { timeout: 10_000 }).toBe(published.length);
    await sub.stop();
    await consumer.close();
    await producer.dangerous.destroy(['late']);
    await producer.close();
  });

  it('keeps events published before any group exists in <prefix>.unrouted instead of dropping them', async () => {
    const prefix = uniquePrefix();
    const backbone = await createRabbitMq({ url: rabbitUrl, prefix, partitions: 2 });
    const published = workload(3, 1).flat();
    await backbone.publish(published);
    const connection = await amqp.connect(rabbitUrl);
    const channel = await connection.createChannel();
    const { messageCount } = await channel.checkQueue(`${prefix}.unrouted`);
    await connection.close();
    await backbone.dangerous.destroy([]);
    await backbone.close();
    expect(messageCount).toBe(published.length);
  });
});

const withPostgres = available && (await postgresAvailable());

describe.runIf(withPostgres)('rabbitmq: broker dead letters go to Tidemark’s DLQ', () => {
  it('files an event the broker dead-lettered after its delivery limit as a TM_BROKER_DEAD_LETTERED dead letter of the group', async () => {
    // Given a group whose queues dead-letter after 1 redelivery, wired to Tidemark's DLQ
    const store = await serverDb();
    const prefix = uniquePrefix();
    const backbone = await createRabbitMq({
      url: rabbitUrl,
      prefix,
      partitions: 2,
      deliveryLimit: 1,
      retryBaseMs: 10,
      retryMaxMs: 50,
      deadLetters: tidemarkDeadLetters({ db: store.db, schema: store.schema }),
    });
    const [poison] = workload(1, 1, 'poison').flat();
    const sub = await backbone.subscribe('billing', async () => {
      throw new Error('handler always fails');
    });
    try {
      // When its handler keeps failing
      await backbone.publish([poison!]);

      // Then the broker gives up on the event and it lands in the DLQ as the consumer "billing"
      await expect
        .poll(
          async () =>
            (
              await store.db.query<{
                consumer: string;
                event_id: string;
                code: string;
                partition_key: string;
                reason: string;
              }>(`SELECT consumer, event_id, code, partition_key, reason FROM "${store.schema}".dead_letters`)
            ).rows,
          { timeout: 15_000 },
        )
        .toEqual([
          expect.objectContaining({
            consumer: 'billing',
            event_id: poison!.id,
            code: 'TM_BROKER_DEAD_LETTERED',
            partition_key: poison!.partitionkey,
            reason: expect.stringContaining('delivery_limit'),
          }),
        ]);
    } finally {
      await sub.stop();
      await backbone.dangerous.destroy(['billing']);
      await backbone.close();
      await store.cleanup();
    }
  });
});

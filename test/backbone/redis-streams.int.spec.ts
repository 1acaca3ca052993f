import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisStreams } from '../../src/backbone/redis-streams/index.js';
import type { BackboneMessage } from '../../src/backbone/backbone.js';
import { workload, createGate } from '../../src/testing/backbone-workload.js';
import { redisAvailable, redisUrl, uniqueRedisPrefix } from '../contract/backbone/redis-service.js';
import { rejection, unusedPort } from '../contract/backbone/startup-failures.js';

const timing = { leaseTtlMs: 1_000, heartbeatMs: 200, pollMs: 100, retryBaseMs: 20, retryMaxMs: 100 };

describe('redis-streams: start-up failures', () => {
  it('fails with TM_SERVICE_UNREACHABLE naming the address when no server listens', async () => {
    const port = await unusedPort();
    const error = await rejection(
      createRedisStreams({
        url: `redis://127.0.0.1:${port}/0`,
        prefix: uniqueRedisPrefix(),
        connectTimeoutMs: 1_000,
      }),
    );
    expect(error.code).toBe('TM_SERVICE_UNREACHABLE');
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('under REQUIRE_SERVICES=1 an unreachable server fails the suite instead of skipping it', async () => {
    const url = `redis://127.0.0.1:${await unusedPort()}/0`;
    await expect(redisAvailable(url, true)).rejects.toThrow(/REQUIRE_SERVICES=1 but Redis is unreachable/);
    await expect(redisAvailable(url, false)).resolves.toBe(false);
  });

  it('rejects a malformed url before connecting, naming the option', async () => {
    const error = await rejection(createRedisStreams({ url: 'http://x', prefix: 'ok' }));
    expect(error.code).toBe('TM_INVALID_ARGUMENT');
    expect(error.message).toContain('option url');
  });
});

const available = await redisAvailable();

describe.runIf(available)('redis-streams: against the server', () => {
  it('refuses a wrong password with TM_BACKBONE_ACCESS_DENIED', async () => {
    const url = new URL(redisUrl);
    url.username = 'nobody';
    url.password = 'wrong';
    const error = await rejection(createRedisStreams({ url: url.toString(), prefix: uniqueRedisPrefix() }));
    expect(error.code).toBe('TM_BACKBONE_ACCESS_DENIED');
    expect(error.message).not.toContain('wrong@');
  });

  it('refuses another partition count than the streams were created with', async () => {
    const prefix = uniqueRedisPrefix();
    const first = await createRedisStreams({ url: redisUrl, prefix, partitions: 4 });
    try {
      const error = await rejection(createRedisStreams({ url: redisUrl, prefix, partitions: 8 }));
      expect(error.code).toBe('TM_STREAM_MISMATCH');
      expect(error.message).toContain('Configure partitions: 4');
    } finally {
      await first.dangerous.destroy();
      await first.close();
    }
  });

  it('trims each partition stream to about maxLengthPerPartition entries', async () => {
    const prefix = uniqueRedisPrefix();
    const backbone = await createRedisStreams({
      url: redisUrl,
      prefix,
      partitions: 1,
      maxLengthPerPartition: 100,
    });
    try {
      await backbone.publish(workload(50, 20).flat()); // 1,000 events into one stream
      const redis = new Redis(redisUrl);
      const length = await redis.xlen(`{${prefix}}:p0`);
      await redis.quit();
      // Approximate trimming (MAXLEN ~) removes whole nodes: at least the bound stays, far less than all.
      expect(length).toBeGreaterThanOrEqual(100);
      expect(length).toBeLessThan(1_000);
    } finally {
      await backbone.dangerous.destroy();
      await backbone.close();
    }
  });

  it('after an instance dies holding pending entries, the next holder claims them (XAUTOCLAIM) and delivers them again', async () => {
    // Given member A in an instance whose handler holds every batch, with entries pending on A
    const prefix = uniqueRedisPrefix();
    const options = { url: redisUrl, prefix, partitions: 1, ...timing };
    const doomed = await createRedisStreams(options);
    const survivor = await createRedisStreams(options);
    const held = createGate();
    const seenByA: string[] = [];
    await doomed.subscribe('claims', async (messages) => {
      for (const m of messages) seenByA.push(m.envelope.id);
      await held.wait;
    });
    const published = workload(5, 1).flat();
    await survivor.publish(published);
    await expect.poll(() => seenByA.length, { timeout: 10_000 }).toBeGreaterThan(0);
    const redis = new Redis(redisUrl);
    const [pendingOnA] = (await redis.xpending(`{${prefix}}:p0`, 'claims')) as [number];
    expect(pendingOnA).toBe(seenByA.length);

    // When A's instance dies without acknowledging or releasing, and member B joins
    doomed.dangerous.sever();
    const byB: BackboneMessage[] = [];
    const b = await survivor.subscribe('claims', async (messages) => {
      byB.push(...messages);
    });

    // Then B gets every entry, A's pending ones marked as redeliveries, and nothing stays pending
    await expect
      .poll(() => new Set(byB.map((m) => m.envelope.id)).size, { timeout: 10_000 })
      .toBe(published.length);
    const first = byB.find((m) => m.envelope.id === seenByA[0]);
    expect(first?.deliveryAttempt).toBeGreaterThanOrEqual(2);
    await expect
      .poll(async () => ((await redis.xpending(`{${prefix}}:p0`, 'claims')) as [number])[0])
      .toBe(0);
    held.fail(new Error('the dead member gives up'));
    await b.stop();
    await redis.quit();
    await survivor.dangerous.destroy();
    await survivor.close();
  });
});

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const redisUrl = process.env.TIDEMARK_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';

/**
 * Whether suites needing Redis run. Under REQUIRE_SERVICES=1 (CI) an unreachable server is an
 * error, so a missing service fails the run instead of skipping silently.
 */
export async function redisAvailable(
  url = redisUrl,
  requireServices = process.env.REQUIRE_SERVICES === '1',
): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, retryStrategy: () => null });
  redis.on('error', () => {});
  let ok: boolean;
  try {
    await redis.connect();
    await redis.ping();
    ok = true;
  } catch {
    ok = false;
  } finally {
    redis.disconnect();
  }
  if (!ok && requireServices) {
    throw new Error(
      `REQUIRE_SERVICES=1 but Redis is unreachable at ${url}; start it (redis-server --port 6379) or set TIDEMARK_TEST_REDIS`,
    );
  }
  return ok;
}

/** A key prefix no other test uses. */
export function uniqueRedisPrefix(): string {
  return `tmtest:${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

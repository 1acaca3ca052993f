import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';

export const rabbitUrl = process.env.TIDEMARK_TEST_RABBITMQ ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * Whether suites needing RabbitMQ run. Under REQUIRE_SERVICES=1 (CI) an unreachable broker is an
 * error, so a missing service fails the run instead of skipping silently.
 */
export async function rabbitAvailable(
  url = rabbitUrl,
  requireServices = process.env.REQUIRE_SERVICES === '1',
): Promise<boolean> {
  let ok: boolean;
  try {
    const connection = await amqp.connect(url, { timeout: 3_000 });
    await connection.close();
    ok = true;
  } catch {
    ok = false;
  }
  if (!ok && requireServices) {
    throw new Error(
      `REQUIRE_SERVICES=1 but RabbitMQ is unreachable at ${url.replace(/:[^:@/]*@/, ':***@')}; start it ` +
        '(rabbitmq-server, listening on 127.0.0.1:5672) or set TIDEMARK_TEST_RABBITMQ',
    );
  }
  return ok;
}

/** A name prefix no other test uses. */
export function uniquePrefix(): string {
  return `tmtest.${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

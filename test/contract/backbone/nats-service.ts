import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

export const natsServers = process.env.TIDEMARK_TEST_NATS ?? '127.0.0.1:4222';
const requireServices = process.env.REQUIRE_SERVICES === '1';

/**
 * Whether suites needing NATS JetStream run. Under REQUIRE_SERVICES=1 (CI) an unreachable server
 * is an error, so a missing service fails the run instead of skipping silently.
 */
export async function natsAvailable(): Promise<boolean> {
  let ok: boolean;
  try {
    const nc = await connect({ servers: natsServers, timeout: 3_000, maxReconnectAttempts: 0 });
    try {
      await (await jetstreamManager(nc, { timeout: 3_000 })).getAccountInfo();
      ok = true;
    } finally {
      await nc.close();
    }
  } catch {
    ok = false;
  }
  if (!ok && requireServices) {
    throw new Error(
      `REQUIRE_SERVICES=1 but NATS JetStream is unreachable at ${natsServers}; start it ` +
        '(nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server) or set TIDEMARK_TEST_NATS',
    );
  }
  return ok;
}

/** A stream name and subject prefix no other test uses. */
export function uniqueStream(): { stream: string; subjectPrefix: string } {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  return { stream: `TMTEST_${id}`, subjectPrefix: `tmtest.${id}` };
}

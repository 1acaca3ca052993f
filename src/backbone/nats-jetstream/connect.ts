import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { TidemarkError } from '../../errors.js';
import type { NatsJetStreamConfig } from './options.js';

export interface NatsSession {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Whether `close()` of the backbone closes `nc` (false when the caller passed it in). */
  readonly owned: boolean;
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Opens (or adopts) the connection and checks that JetStream answers. Both failures are
 * TM_SERVICE_UNREACHABLE naming the address, because at start-up the useful fix is the same:
 * point `servers` at a running nats-server started with JetStream (`-js`).
 */
export async function openSession(
  config: NatsJetStreamConfig,
  connection: NatsConnection | undefined,
): Promise<NatsSession> {
  let nc = connection;
  const address = connection ? connection.getServer() : config.servers.join(', ');
  if (!nc) {
    try {
      nc = await connect({
        servers: [...config.servers],
        name: config.connectionName,
        timeout: config.requestTimeoutMs,
        // Once connected, ride out server restarts: leases and pulls recover on their own.
        maxReconnectAttempts: -1,
      });
    } catch (cause) {
      throw new TidemarkError(
        'TM_SERVICE_UNREACHABLE',
        `NATS is unreachable at ${address} (${reason(cause)}); check that nats-server is running ` +
          'with JetStream enabled (-js) and that the nats-jetstream option "servers" points to it',
        { cause, context: { servers: config.servers } },
      );
    }
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: config.requestTimeoutMs });
    const js = jetstream(nc, { timeout: config.requestTimeoutMs });
    return { nc, js, jsm, owned: !connection };
  } catch (cause) {
    if (!connection) await nc.close().catch(() => {});
    throw new TidemarkError(
      'TM_SERVICE_UNREACHABLE',
      `NATS at ${address} does not answer JetStream requests (${reason(cause)}); start nats-server ` +
        'with JetStream enabled (-js, or "jetstream {}" in its configuration) and check account limits',
      { cause, context: { servers: config.servers } },
    );
  }
}

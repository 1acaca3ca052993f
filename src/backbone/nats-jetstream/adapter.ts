import type { Backbone, SubscribeOptions, BatchHandler } from '../backbone.js';
import { TidemarkError, isTidemarkError } from '../../errors.js';
import { openSession } from './connect.js';
import { joinGroup } from './group.js';
import { openLeaseTable } from './leases.js';
import { naming } from './names.js';
import { resolveOptions, type NatsJetStreamConfig, type NatsJetStreamOptions } from './options.js';
import { createPublisher } from './publish.js';
import { ensureStream } from './stream.js';
import { adapterLifecycle } from '../shared/lifecycle.js';

export interface NatsJetStreamBackbone extends Backbone {
  /** The resolved, frozen options. */
  readonly config: NatsJetStreamConfig;
  /** Operations that destroy data; for tests and decommissioning, never for routine use. */
  readonly dangerous: {
    /** Stops every subscription, then deletes the stream and its lease bucket. */
    destroy(): Promise<void>;
  };
}

/**
 * A backbone on NATS JetStream (2.9 or newer): one stream, one subject per partition,
 * `Nats-Msg-Id` = event id for dedup within the duplicate window, and per (group, partition) a
 * durable pull consumer with explicit acks. Members of a group share partitions through leases
 * in a KV bucket. Creates the stream if missing; an existing one must match the configuration.
 *
 * Durability: the server acknowledges a publish before it fsyncs (periodic sync), so a power
 * loss can drop acknowledged messages. For no-loss deployments run nats-server 2.10+ with
 * `sync_interval: always`; 2.9 cannot.
 *
 * @example
 * const backbone = await createNatsJetStream({
 *   servers: '127.0.0.1:4222',
 *   stream: 'TIDEMARK',
 *   subjectPrefix: 'tidemark',
 * });
 */
export async function createNatsJetStream(options: NatsJetStreamOptions): Promise<NatsJetStreamBackbone> {
  const config = resolveOptions(options);
  const names = naming(config);
  const session = await openSession(config, options.connection);
  let leases;
  try {
    await ensureStream(session.jsm, config, names);
    leases = await openLeaseTable(session.nc, config, names);
  } catch (cause) {
    if (session.owned) await session.nc.close().catch(() => {});
    if (isTidemarkError(cause)) throw cause;
    throw new TidemarkError(
      'TM_SERVICE_UNREACHABLE',
      `setting up NATS stream '${config.stream}' failed: ${cause instanceof Error ? cause.message : String(cause)}; ` +
        'check the server, its JetStream limits and the permissions of the connection',
      { cause, context: { stream: config.stream } },
    );
  }
  const lifecycle = adapterLifecycle('nats-jetstream', config.stream);

  return {
    name: 'nats-jetstream',
    capabilities: {
      persistent: config.storage === 'file',
      consumerGroups: true,
      idempotentPublish: true,
      transactionalPublish: false,
    },
    partitions: config.partitions,
    config,
    publish: lifecycle.publisher(createPublisher(session.js, config, names)),
    async subscribe(group: string, handler: BatchHandler, subscribeOptions: SubscribeOptions = {}) {
      lifecycle.ensureOpen('subscribe');
      const subscription = await joinGroup({
        session,
        config,
        names,
        leases,
        group,
        handler,
        options: subscribeOptions,
        onStop: () => lifecycle.forget(subscription),
      });
      lifecycle.track(subscription);
      return subscription;
    },
    close: () =>
      lifecycle.close(async () => {
        if (session.owned) await session.nc.close();
      }),
    dangerous: {
      async destroy() {
        await lifecycle.stopAll();
        await session.jsm.streams.delete(config.stream).catch(() => {});
        await session.jsm.streams.delete(`KV_${names.bucket}`).catch(() => {});
      },
    },
  };
}

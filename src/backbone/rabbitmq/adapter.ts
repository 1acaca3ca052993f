import type { Backbone, BatchHandler, SubscribeOptions, Subscription } from '../backbone.js';
import { adapterLifecycle } from '../shared/lifecycle.js';
import { groupJoinFailure } from '../shared/membership.js';
import { openSession } from './connect.js';
import { joinGroup } from './group.js';
import { naming } from './names.js';
import { checkGroup, resolveOptions, type RabbitMqConfig, type RabbitMqOptions } from './options.js';
import { createPublisher } from './publish.js';
import { declareExchanges, declareGroup } from './topology.js';

export interface RabbitMqBackbone extends Backbone {
  /** The resolved, frozen options. */
  readonly config: RabbitMqConfig;
  /** Operations that destroy data or simulate faults; for tests and decommissioning only. */
  readonly dangerous: {
    /** Stops every subscription, then deletes the exchanges and the queues of `groups`. */
    destroy(groups: readonly string[]): Promise<void>;
    /** Cuts the connection without closing it, as a crashed process would; the instance stays dead. */
    sever(): void;
  };
}

/**
 * A backbone on RabbitMQ (3.8 or newer): events go to the direct exchange `<prefix>.log` with
 * routing key `p<n>` (the partition of their key); each consumer group has one durable queue per
 * partition (quorum by default) with single active consumer, so the broker itself hands a
 * partition to one consumer at a time and per-key order holds. Publishes wait for publisher
 * confirms; batches are acked by hand after the handler resolves. Members of a group split the
 * partitions by heartbeats on `<prefix>.presence`.
 *
 * Checks at start-up that the broker is reachable, the credentials work and the user may declare
 * the exchanges (and the queues of `groups`); each failure names the address and the fix.
 *
 * @example
 * const backbone = await createRabbitMq({
 *   url: 'amqp://tidemark:secret@rabbit:5672/prod',
 *   prefix: 'tidemark',
 *   groups: ['billing', 'claims'],
 * });
 */
export async function createRabbitMq(options: RabbitMqOptions): Promise<RabbitMqBackbone> {
  const config = resolveOptions(options);
  const names = naming(config);
  const session = await openSession(config);
  const declared = new Set<string>();
  try {
    await declareExchanges(session, config, names);
    for (const group of config.groups) {
      await declareGroup(session, config, names, group);
      declared.add(group);
    }
  } catch (error) {
    await session.close();
    throw error;
  }
  const lifecycle = adapterLifecycle('rabbitmq', config.prefix);

  return {
    name: 'rabbitmq',
    capabilities: {
      persistent: true,
      consumerGroups: true,
      idempotentPublish: false,
      transactionalPublish: false,
    },
    partitions: config.partitions,
    config,
    publish: lifecycle.publisher(createPublisher(session, config, names)),
    async subscribe(group: string, handler: BatchHandler, subscribeOptions: SubscribeOptions = {}) {
      lifecycle.ensureOpen('subscribe');
      checkGroup(group);
      if (!declared.has(group)) {
        await declareGroup(session, config, names, group);
        declared.add(group);
      }
      let subscription: Subscription;
      try {
        subscription = await joinGroup({
          session,
          config,
          names,
          group,
          handler,
          options: subscribeOptions,
          deadLetters: options.deadLetters,
          onStop: () => lifecycle.forget(subscription),
        });
      } catch (cause) {
        throw groupJoinFailure(
          group,
          `RabbitMQ at ${config.address}`,
          'check the broker',
          { prefix: config.prefix },
          cause,
        );
      }
      lifecycle.track(subscription);
      return subscription;
    },
    close: () => lifecycle.close(() => session.close()),
    dangerous: {
      async destroy(groups) {
        await lifecycle.stopAll();
        const channel = await session.channel();
        for (const group of new Set([...groups, ...declared])) {
          for (let p = 0; p < config.partitions; p++) await channel.deleteQueue(names.queue(group, p));
          await channel.deleteQueue(names.deadQueue(group));
        }
        await channel.deleteQueue(names.unrouted);
        await channel.deleteQueue(names.layout);
        for (const exchange of [names.log, names.dead, names.presence, names.unrouted]) {
          await channel.deleteExchange(exchange);
        }
        await channel.close();
      },
      sever: () => session.sever(),
    },
  };
}

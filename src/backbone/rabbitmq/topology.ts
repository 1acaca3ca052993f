import type { Channel } from 'amqplib';
import { TidemarkError } from '../../errors.js';
import { brokerError, type RabbitSession } from './connect.js';
import type { Naming } from './names.js';
import type { RabbitMqConfig } from './options.js';

/** Arguments of a group's partition queues; every declaration must use the same ones. */
export function partitionQueueArguments(config: RabbitMqConfig, names: Naming, group: string) {
  return {
    'x-queue-type': config.queueType,
    // The broker itself delivers a partition to one consumer at a time: per-key order holds even
    // if two members briefly both want the partition during a rebalance.
    'x-single-active-consumer': true,
    'x-dead-letter-exchange': names.dead,
    'x-dead-letter-routing-key': group,
    ...(config.queueType === 'quorum'
      ? {
          // Dead-lettering that is itself confirmed, so a dead-lettered message is never lost
          // between the two queues (needs reject-publish overflow).
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
        }
      : {}),
    ...(config.deliveryLimit !== undefined ? { 'x-delivery-limit': config.deliveryLimit } : {}),
  };
}

/** Runs `declare` on a throwaway channel: a refused declaration closes the channel it was made on. */
async function onChannel(
  session: RabbitSession,
  declare: (channel: Channel) => Promise<void>,
): Promise<void> {
  const channel = await session.channel();
  try {
    await declare(channel);
  } finally {
    await channel.close().catch(() => {});
  }
}

function mismatch(config: RabbitMqConfig, what: string, cause: unknown): TidemarkError {
  return new TidemarkError(
    'TM_STREAM_MISMATCH',
    `RabbitMQ ${what} already exists with other arguments (${cause instanceof Error ? cause.message : String(cause)}). ` +
      'Configure the same partitions, queueType and deliveryLimit as the instances that created it, or choose ' +
      'another prefix; Tidemark never redeclares an existing queue (re-partitioning would break per-key order)',
    { cause, context: { prefix: config.prefix, resource: what } },
  );
}

const isPrecondition = (error: unknown) => (error as { code?: unknown }).code === 406;

/** Declares the exchanges (and the unrouted queue): proves at start-up that the user may. */
export async function declareExchanges(
  session: RabbitSession,
  config: RabbitMqConfig,
  names: Naming,
): Promise<void> {
  try {
    await onChannel(session, async (channel) => {
      await channel.assertExchange(names.unrouted, 'fanout', { durable: true });
      await channel.assertQueue(names.unrouted, {
        durable: true,
        arguments: { 'x-queue-type': config.queueType },
      });
      await channel.bindQueue(names.unrouted, names.unrouted, '');
      await channel.assertExchange(names.log, 'direct', {
        durable: true,
        alternateExchange: names.unrouted,
      });
      await channel.assertExchange(names.dead, 'direct', { durable: true });
      await channel.assertExchange(names.presence, 'topic', { durable: true });
    });
    await checkLayout(session, config, names);
  } catch (cause) {
    if (cause instanceof TidemarkError) throw cause;
    if (isPrecondition(cause))
      throw mismatch(config, `exchange or queue of prefix '${config.prefix}'`, cause);
    throw brokerError(
      config,
      `declaring the exchanges '${names.log}', '${names.dead}', '${names.presence}'`,
      cause,
    );
  }
}

/** Declares a group's partition queues and dead-letter queue, bound to the log. Idempotent. */
export async function declareGroup(
  session: RabbitSession,
  config: RabbitMqConfig,
  names: Naming,
  group: string,
): Promise<void> {
  try {
    await onChannel(session, async (channel) => {
      await channel.assertQueue(names.deadQueue(group), {
        durable: true,
        arguments: { 'x-queue-type': config.queueType },
      });
      await channel.bindQueue(names.deadQueue(group), names.dead, group);
      const args = partitionQueueArguments(config, names, group);
      for (let p = 0; p < config.partitions; p++) {
        await channel.assertQueue(names.queue(group, p), { durable: true, arguments: args });
        await channel.bindQueue(names.queue(group, p), names.log, names.routingKey(p));
      }
    });
  } catch (cause) {
    if (isPrecondition(cause)) throw mismatch(config, `queues of group '${group}'`, cause);
    throw brokerError(config, `declaring the queues of group '${group}'`, cause);
  }
}

/**
 * The partition count lives in one message on `<prefix>.layout` (RabbitMQ does not compare
 * unknown exchange or queue arguments, so it cannot hold it). The first instance writes it;
 * every later one must agree, since another count would send keys to other queues.
 */
async function checkLayout(session: RabbitSession, config: RabbitMqConfig, names: Naming): Promise<void> {
  const channel = await session.confirmChannel();
  try {
    await channel.assertQueue(names.layout, {
      durable: true,
      arguments: { 'x-queue-type': 'classic', 'x-max-length': 1, 'x-overflow': 'drop-head' },
    });
    const message = await channel.get(names.layout, { noAck: false });
    if (message === false) {
      channel.sendToQueue(names.layout, Buffer.from(JSON.stringify({ partitions: config.partitions })), {
        persistent: true,
      });
      await channel.waitForConfirms();
      return;
    }
    channel.nack(message, false, true);
    const layout = JSON.parse(message.content.toString('utf8')) as { partitions?: unknown };
    if (layout.partitions !== config.partitions) {
      throw new TidemarkError(
        'TM_STREAM_MISMATCH',
        `RabbitMQ exchanges and queues of prefix '${config.prefix}' were created with ${String(layout.partitions)} ` +
          `partitions, but partitions is ${config.partitions}. Configure the same partitions ` +
          `(partitions: ${String(layout.partitions)}) or choose another prefix; Tidemark never re-partitions a ` +
          'live layout (keys would move to other queues and lose their order)',
        { context: { prefix: config.prefix, existing: layout.partitions, configured: config.partitions } },
      );
    }
  } finally {
    await channel.close().catch(() => {});
  }
}

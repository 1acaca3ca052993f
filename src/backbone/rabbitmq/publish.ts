import type { ConfirmChannel } from 'amqplib';
import type { Envelope } from '../../envelope/types.js';
import { TidemarkError } from '../../errors.js';
import { lanesByPartition } from '../shared/lanes.js';
import type { RabbitSession } from './connect.js';
import type { Naming } from './names.js';
import type { RabbitMqConfig } from './options.js';

/**
 * Publishes a batch and resolves once the broker has confirmed every message (publisher
 * confirms: for durable queues the broker confirms after the message is on disk, and for quorum
 * queues after a majority of replicas have it).
 *
 * Within a partition each message waits for the previous one's confirm: if message 2 of a key
 * were nacked while 3 was stored, the caller's retry would store 2 after 3 and break per-key
 * order for good. Partitions are independent, so they go in parallel on one confirm channel.
 * RabbitMQ has no publish dedup: a retried batch is stored again and the consumer inbox drops
 * the duplicates (capabilities.idempotentPublish is false).
 */
export function createPublisher(session: RabbitSession, config: RabbitMqConfig, names: Naming) {
  let channel: Promise<ConfirmChannel> | undefined;

  function confirmChannel(): Promise<ConfirmChannel> {
    if (!channel) {
      const opening = session.confirmChannel();
      channel = opening;
      opening.then(
        (c) => c.on('close', () => channel === opening && (channel = undefined)),
        () => channel === opening && (channel = undefined),
      );
    }
    return channel;
  }

  function send(c: ConfirmChannel, partition: number, envelope: Envelope): Promise<void> {
    return new Promise((resolve, reject) => {
      c.publish(
        names.log,
        names.routingKey(partition),
        Buffer.from(JSON.stringify(envelope)),
        {
          persistent: true,
          contentType: 'application/cloudevents+json',
          messageId: envelope.id,
          headers: { partitionkey: envelope.partitionkey },
        },
        (error: unknown) =>
          error ? reject(error instanceof Error ? error : new Error('nacked by the broker')) : resolve(),
      );
    });
  }

  return async function publish(batch: readonly Envelope[]): Promise<void> {
    const lanes = lanesByPartition(batch, config.partitions);
    let c: ConfirmChannel;
    try {
      c = await confirmChannel();
    } catch (cause) {
      throw failure(config, names, batch[0]!, cause);
    }
    await Promise.all(
      [...lanes].map(async ([partition, envelopes]) => {
        for (const envelope of envelopes) {
          try {
            await send(c, partition, envelope);
          } catch (cause) {
            throw failure(config, names, envelope, cause);
          }
        }
      }),
    );
  };
}

function failure(config: RabbitMqConfig, names: Naming, envelope: Envelope, cause: unknown): TidemarkError {
  return new TidemarkError(
    'TM_SERVICE_UNREACHABLE',
    `publishing event ${envelope.id} to RabbitMQ exchange '${names.log}' at ${config.address} failed: ` +
      `${cause instanceof Error ? cause.message : String(cause)}; the batch can be retried as is ` +
      '(consumers drop the duplicates through their inbox); check the broker and its disk and memory alarms',
    { cause, context: { exchange: names.log, eventId: envelope.id } },
  );
}

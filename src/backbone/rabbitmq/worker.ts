import type { Channel, ConsumeMessage } from 'amqplib';
import type { LimitFunction } from 'p-limit';
import type { BackboneMessage, BatchHandler, SubscribeOptions } from '../backbone.js';
import type { Envelope } from '../../envelope/types.js';
import { backoffDelay } from '../../util/backoff.js';
import { Wakeup } from '../../util/wakeup.js';
import type { RabbitSession } from './connect.js';
import type { RabbitMqConfig } from './options.js';

export interface PartitionWorker {
  readonly partition: number;
  /** Takes no new batch, waits for the one in flight to be settled, then closes its channel. */
  stop(): Promise<void>;
}

export interface WorkerArgs {
  readonly session: RabbitSession;
  readonly config: RabbitMqConfig;
  readonly queue: string;
  readonly partition: number;
  readonly handler: BatchHandler;
  /** Shared by the member's workers: bounds handler calls in flight. */
  readonly limit: LimitFunction;
  readonly options: SubscribeOptions;
}

function decode(content: Buffer): Envelope {
  const text = content.toString('utf8');
  try {
    return JSON.parse(text) as Envelope;
  } catch {
    // Not ours to judge: the consumer runtime validates envelopes and dead-letters bad ones.
    return text as unknown as Envelope;
  }
}

/** Deliveries before this one, as far as the broker tells: quorum queues count them exactly. */
function previousDeliveries(message: ConsumeMessage): number {
  const count = (message.properties.headers as Record<string, unknown> | undefined)?.['x-delivery-count'];
  if (typeof count === 'number' && Number.isSafeInteger(count) && count >= 0) return count;
  return message.fields.redelivered ? 1 : 0;
}

/**
 * Consumes one partition queue (single active consumer) on a channel of its own, one batch at a
 * time. A resolved batch is acked (one multiple-ack up to its last message). A rejected batch
 * closes the channel: the broker then puts every unacked message, the batch and anything
 * prefetched after it, back at the head of the queue in their original order, so the next
 * delivery starts with the same first message. A nack per message could not promise that: the
 * broker would redeliver the first ones while later ones were still held here.
 *
 * `offset` is a counter of this worker's deliveries: RabbitMQ queues have no positions.
 */
export function startWorker(args: WorkerArgs): PartitionWorker {
  const { session, config, queue, partition, handler, limit, options } = args;
  const batchSize = options.batchSize ?? 100;
  const wakeup = new Wakeup();
  let running = true;
  let deliveries = 0;

  const loop = (async () => {
    let failures = 0;
    let lastFailure: { id: string | undefined; attempt: number } | undefined;
    const backoff = () =>
      wakeup.wait(
        backoffDelay(Math.max(1, failures), {
          baseDelayMs: config.retryBaseMs,
          maxDelayMs: config.retryMaxMs,
        }),
      );

    while (running) {
      const buffer: ConsumeMessage[] = [];
      let broken = false;
      let channelClosed = false;
      let channel: Channel;
      try {
        channel = await session.channel();
        channel.on('close', () => {
          broken = true;
          channelClosed = true;
          wakeup.signal();
        });
        await channel.prefetch(batchSize);
        await channel.consume(
          queue,
          (message) => {
            if (message === null)
              broken = true; // consumer cancelled by the broker (queue deleted)
            else buffer.push(message);
            wakeup.signal();
          },
          { noAck: false },
        );
      } catch {
        failures += 1;
        await backoff();
        continue;
      }

      while (running && !broken) {
        if (buffer.length === 0) {
          await wakeup.wait(1_000);
          continue;
        }
        // Let the rest of a prefetch burst arrive, so a batch is what is ready now.
        await new Promise((resolve) => setImmediate(resolve));
        const taken = buffer.splice(0, batchSize);
        const messages: BackboneMessage[] = taken.map((m) => ({
          envelope: decode(m.content),
          partition,
          offset: ++deliveries,
          deliveryAttempt: previousDeliveries(m) + 1,
        }));
        const firstId = taken[0]!.properties.messageId as string | undefined;
        if (lastFailure && firstId !== undefined && lastFailure.id === firstId) {
          const attempt = Math.max(messages[0]!.deliveryAttempt, lastFailure.attempt + 1);
          messages[0] = { ...messages[0]!, deliveryAttempt: attempt };
        }
        try {
          await limit(() => handler(messages, partition));
        } catch (error) {
          failures += 1;
          lastFailure = { id: firstId, attempt: messages[0]!.deliveryAttempt };
          options.onError?.(error, {
            partition,
            attempt: messages[0]!.deliveryAttempt,
            firstOffset: messages[0]!.offset,
          });
          break; // to the channel close below, which hands the batch back
        }
        failures = 0;
        lastFailure = undefined;
        try {
          channel.ack(taken[taken.length - 1]!, true);
        } catch {
          broken = true; // channel gone: the broker redelivers the batch; the inbox drops repeats
        }
      }
      // Closing hands every unacked message back, in order, to the next active consumer.
      // (A channel of a lost connection is already closed, and closing it again would never answer.)
      if (!channelClosed) await channel.close().catch(() => {});
      if (running && failures > 0) await backoff();
    }
  })();

  return {
    partition,
    async stop() {
      running = false;
      wakeup.signal();
      await loop;
    },
  };
}

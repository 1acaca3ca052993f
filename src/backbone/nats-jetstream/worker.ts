import type { LimitFunction } from 'p-limit';
import type { BackboneMessage, BatchHandler, SubscribeOptions } from '../backbone.js';
import type { Envelope } from '../../envelope/types.js';
import { runPartitionWorker, type PartitionWorker as LeasedWorker } from '../shared/worker.js';
import type { NatsSession } from './connect.js';
import type { Lease } from './leases.js';
import type { NatsJetStreamConfig } from './options.js';
import { prepareConsumer, type PartitionConsumerSpec } from './partition-consumer.js';
import { createPuller, type PulledMessage } from './pull.js';

export type PartitionWorker = LeasedWorker<Lease>;

export interface WorkerArgs {
  readonly session: NatsSession;
  readonly config: NatsJetStreamConfig;
  readonly spec: PartitionConsumerSpec;
  readonly partition: number;
  readonly lease: Lease;
  readonly handler: BatchHandler;
  /** Shared by the member's workers: bounds handler calls in flight. */
  readonly limit: LimitFunction;
  readonly options: SubscribeOptions;
}

const decoder = new TextDecoder();

function decode(data: Uint8Array): Envelope {
  const text = decoder.decode(data);
  try {
    return JSON.parse(text) as Envelope;
  } catch {
    // Not ours to judge here: the consumer runtime validates envelopes and dead-letters bad ones.
    return text as unknown as Envelope;
  }
}

/**
 * Works one partition while its lease is held: one batch at a time, in stream order.
 *
 * A resolved batch is acknowledged; a rejected one is handed back with a nak (no delay) and
 * the worker itself backs off before pulling again. A nak without delay puts the messages at
 * the head of the server's redelivery queue, which is served before any newer message, so the
 * next pull starts with the same first message. A nak *with* delay would let newer messages
 * overtake it. The worker still checks that it does (`expectFirst`), and if the server ever
 * answers otherwise, or a pull or ack ends in an unknown state, it re-syncs the consumer from
 * its ack floor before pulling again.
 */
export function startWorker(args: WorkerArgs): PartitionWorker {
  const { session, config, spec, partition, lease, handler, limit, options } = args;
  const batchSize = options.batchSize ?? 100;
  const puller = createPuller(session.nc, spec.stream, spec.name, config.requestTimeoutMs);

  const toMessage = (m: PulledMessage): BackboneMessage => ({
    envelope: decode(m.data),
    partition,
    offset: m.streamSequence,
    deliveryAttempt: m.deliveryCount,
  });

  return runPartitionWorker(partition, lease, config, async (worker) => {
    let prepared = false;
    let resync = false;
    let expectFirst: number | undefined;
    let failures = 0;

    while (worker.running) {
      if (await worker.awaitLease()) continue;
      if (!prepared || resync) {
        try {
          await prepareConsumer(session.jsm, config, spec, resync);
          prepared = true;
          resync = false;
          expectFirst = undefined;
        } catch {
          failures += 1;
          await worker.backoff(failures);
          continue;
        }
      }
      let pulled: PulledMessage[];
      try {
        const result = await puller.pull(batchSize, config.pollMs);
        pulled = result.messages;
        if (!result.clean) resync = true;
      } catch {
        resync = true;
        continue;
      }
      if (resync || pulled.length === 0) continue;
      if (!worker.running || !worker.holdsLease()) {
        await puller.nak(pulled).catch(() => {});
        continue;
      }
      if (expectFirst !== undefined && pulled[0]!.streamSequence !== expectFirst) {
        await puller.nak(pulled).catch(() => {});
        resync = true;
        continue;
      }

      const messages = pulled.map(toMessage);
      // Long handlers (or a wait for a free slot) must not let the ack wait run out.
      const keepAlive = setInterval(() => puller.working(pulled), Math.max(100, config.ackWaitMs / 3));
      let failure: { error: unknown } | undefined;
      try {
        await limit(() => handler(messages, partition));
      } catch (error) {
        failure = { error };
      } finally {
        clearInterval(keepAlive);
      }

      if (!failure) {
        failures = 0;
        expectFirst = undefined;
        // If the confirmation is lost, some acks may not have landed: re-sync from the floor.
        await puller.ack(pulled).catch(() => (resync = true));
        continue;
      }
      failures += 1;
      options.onError?.(failure.error, {
        partition,
        attempt: messages[0]!.deliveryAttempt,
        firstOffset: messages[0]!.offset,
      });
      try {
        await puller.nak(pulled);
        // Past maxDeliver the server stops offering the message: then nothing is to come first.
        const spent = config.maxDeliver !== -1 && pulled[0]!.deliveryCount >= config.maxDeliver;
        expectFirst = spent ? undefined : pulled[0]!.streamSequence;
      } catch {
        resync = true;
      }
      await worker.backoff(failures);
    }
    puller.close();
  });
}

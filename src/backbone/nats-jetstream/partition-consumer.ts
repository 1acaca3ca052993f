import { nanos } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsJetStreamConfig } from './options.js';

export interface PartitionConsumerSpec {
  readonly stream: string;
  readonly name: string;
  readonly filterSubject: string;
}

/**
 * Makes the durable consumer of one (group, partition) safe to pull from, as the new holder of
 * its lease. Called before the first pull, and again whenever a pull ended in an unknown state.
 *
 * Messages a previous holder took but never settled — it died, or its pull was cut off — stay
 * "pending" on the server until their ack wait runs out, and in the meantime the consumer
 * happily serves the messages after them: pulling at once would break per-key order. Likewise
 * a pull request the previous holder left waiting could still swallow the next message. So if
 * anything is pending or waiting (or `force` is set), the consumer is recreated at its ack
 * floor, the point below which everything is acknowledged: the unsettled messages are then
 * delivered again, first and in order. Acknowledged messages above the floor (a holder that
 * died halfway through acking a batch) come again too; that is at-least-once, absorbed by the
 * consumer inbox.
 */
export async function prepareConsumer(
  jsm: JetStreamManager,
  config: NatsJetStreamConfig,
  spec: PartitionConsumerSpec,
  force: boolean,
): Promise<void> {
  const base: Partial<ConsumerConfig> = {
    durable_name: spec.name,
    filter_subject: spec.filterSubject,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(config.ackWaitMs),
    max_deliver: config.maxDeliver,
    replay_policy: ReplayPolicy.Instant,
  };
  const info = await consumerInfo(jsm, spec);
  if (!info) {
    await jsm.consumers.add(spec.stream, { ...base, deliver_policy: DeliverPolicy.All });
    return;
  }
  const drifted =
    info.config.filter_subject !== spec.filterSubject ||
    info.config.ack_wait !== base.ack_wait ||
    info.config.max_deliver !== base.max_deliver;
  if (!force && !drifted && info.num_ack_pending === 0 && info.num_waiting === 0) return;
  await jsm.consumers.delete(spec.stream, spec.name);
  await jsm.consumers.add(spec.stream, {
    ...base,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: info.ack_floor.stream_seq + 1,
  });
}

async function consumerInfo(
  jsm: JetStreamManager,
  spec: PartitionConsumerSpec,
): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(spec.stream, spec.name);
  } catch (error) {
    if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.ConsumerNotFound)
      return undefined;
    throw error;
  }
}

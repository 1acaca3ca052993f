import type { JetStreamClient } from '@nats-io/jetstream';
import type { Envelope } from '../../envelope/types.js';
import { TidemarkError } from '../../errors.js';
import { lanesByPartition } from '../shared/lanes.js';
import type { Naming } from './names.js';
import type { NatsJetStreamConfig } from './options.js';

const encoder = new TextEncoder();

/**
 * Publishes a batch and resolves once the stream has acknowledged every message.
 *
 * Within a partition, each message waits for the previous one's acknowledgement. Pipelining
 * them would be faster, but if message 2 of a key failed while message 3 was stored, the
 * caller's retry would store 2 after 3 and break per-key order for good. Partitions are
 * independent, so they are published in parallel. `Nats-Msg-Id` is the event id, so a retried
 * batch (or a relay resuming after a crash) stores nothing twice within the duplicate window.
 */
export function createPublisher(js: JetStreamClient, config: NatsJetStreamConfig, names: Naming) {
  return async function publish(batch: readonly Envelope[]): Promise<void> {
    const lanes = lanesByPartition(batch, config.partitions);
    await Promise.all(
      [...lanes].map(async ([partition, envelopes]) => {
        const subject = names.subject(partition);
        for (const envelope of envelopes) {
          try {
            await js.publish(subject, encoder.encode(JSON.stringify(envelope)), {
              msgID: envelope.id,
              timeout: config.requestTimeoutMs,
            });
          } catch (cause) {
            throw new TidemarkError(
              'TM_SERVICE_UNREACHABLE',
              `publishing event ${envelope.id} to NATS stream '${config.stream}' (subject ${subject}) failed: ` +
                `${cause instanceof Error ? cause.message : String(cause)}; the batch can be retried as is ` +
                '(event ids deduplicate); check the server and that the stream still exists',
              { cause, context: { stream: config.stream, subject, eventId: envelope.id } },
            );
          }
        }
      }),
    );
  };
}

import type { Channel, ConsumeMessage } from 'amqplib';
import { contentDigest } from '../../envelope/canonical.js';
import { deadLetterStatements } from '../../dlq/sql.js';
import type { Db } from '../../store/db.js';
import { quoteIdentifier } from '../../store/identifier.js';
import { backoffDelay } from '../../util/backoff.js';
import { Wakeup } from '../../util/wakeup.js';
import type { RabbitSession } from './connect.js';
import type { RabbitMqConfig } from './options.js';

/** A message the broker dead-lettered out of one of a group's partition queues. */
export interface BrokerDeadLetter {
  readonly group: string;
  /** The event as published (parsed JSON), or the raw text when it is not JSON. */
  readonly event: unknown;
  /** The broker's reason: `delivery_limit`, `rejected`, `expired` or `maxlen`. */
  readonly reason: string;
  /** The queue it left. */
  readonly queue: string;
  /** Times it was dead-lettered for that reason from that queue. */
  readonly count: number;
}

/** Takes one dead letter; resolving acknowledges it, rejecting has it offered again later. */
export type DeadLetterSink = (letter: BrokerDeadLetter) => Promise<void>;

/**
 * A sink that files broker dead letters in Tidemark's DLQ (`<schema>.dead_letters`) as the
 * consumer named after the group, with code TM_BROKER_DEAD_LETTERED. The row becomes the head of
 * its key's queue, so the consumer parks later events of that key behind it (order is kept) and
 * an operator retries or skips it like any other dead letter.
 */
export function tidemarkDeadLetters(options: { readonly db: Db; readonly schema: string }): DeadLetterSink {
  const statements = deadLetterStatements(quoteIdentifier(options.schema, 'schema'));
  return async (letter) => {
    const record = (letter.event !== null && typeof letter.event === 'object' ? letter.event : {}) as Record<
      string,
      unknown
    >;
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    await options.db.query(statements.fail, [
      letter.group,
      text(record.authority) ?? '(unknown)',
      text(record.id) ?? '(none)',
      text(record.entitytype),
      text(record.entityid),
      typeof record.entityversion === 'number' && Number.isSafeInteger(record.entityversion)
        ? record.entityversion
        : null,
      text(record.partitionkey),
      JSON.stringify(letter.event ?? null),
      contentDigest(letter.event ?? null),
      'TM_BROKER_DEAD_LETTERED',
      `RabbitMQ dead-lettered the event out of queue '${letter.queue}' (reason: ${letter.reason}, ` +
        `${letter.count} time(s)); it never reached the consumer's handler`,
      null,
      letter.count,
    ]);
  };
}

function describe(message: ConsumeMessage, group: string, fallbackQueue: string): BrokerDeadLetter {
  const text = message.content.toString('utf8');
  let event: unknown = text;
  try {
    event = JSON.parse(text);
  } catch {
    // kept as text: the DLQ row shows what arrived
  }
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const deaths = headers['x-death'] as { reason?: string; queue?: string; count?: number }[] | undefined;
  const first = deaths?.[0];
  return {
    group,
    event,
    reason: String(first?.reason ?? headers['x-first-death-reason'] ?? 'unknown'),
    queue: String(first?.queue ?? headers['x-first-death-queue'] ?? fallbackQueue),
    count: typeof first?.count === 'number' ? first.count : 1,
  };
}

export interface DeadLetterDrain {
  stop(): Promise<void>;
}

/** Moves the group's dead-letter queue into `sink`, one message at a time, in queue order. */
export function drainDeadLetters(
  session: RabbitSession,
  config: RabbitMqConfig,
  queue: string,
  group: string,
  sink: DeadLetterSink,
): DeadLetterDrain {
  const wakeup = new Wakeup();
  let running = true;
  const loop = (async () => {
    let failures = 0;
    while (running) {
      let channel: Channel | undefined;
      const buffer: ConsumeMessage[] = [];
      let broken = false;
      try {
        channel = await session.channel();
        channel.on('close', () => {
          broken = true;
          wakeup.signal();
        });
        await channel.prefetch(1);
        await channel.consume(queue, (m) => {
          if (m) buffer.push(m);
          else broken = true;
          wakeup.signal();
        });
        while (running && !broken) {
          const message = buffer.shift();
          if (!message) {
            await wakeup.wait(1_000);
            continue;
          }
          await sink(describe(message, group, queue));
          channel.ack(message);
          failures = 0;
        }
      } catch {
        failures += 1;
      }
      await channel?.close().catch(() => {});
      if (running && failures > 0) {
        await wakeup.wait(
          backoffDelay(failures, { baseDelayMs: config.retryBaseMs, maxDelayMs: config.retryMaxMs }),
        );
      }
    }
  })();
  return {
    async stop() {
      running = false;
      wakeup.signal();
      await loop;
    },
  };
}

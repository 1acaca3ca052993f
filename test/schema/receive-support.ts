/** Shared set-up of the producer/consumer schema tests: a customer authority, a recording consumer. */
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import type { ReceiveOptions } from '../../src/consumer/validate-on-receipt.js';
import type { Backbone } from '../../src/backbone/index.js';
import type { Envelope } from '../../src/envelope/index.js';
import type { TestDb } from '../support/services.js';

/** Consumers here are driven through `handle`; the backbone is never used. */
const unusedBackbone = {} as Backbone;

export interface Recording {
  readonly consumer: Consumer;
  /** The events the handler was given, in order. */
  readonly seen: Envelope[];
}

export function recordingConsumer(t: TestDb, name: string, receive: ReceiveOptions): Recording {
  const seen: Envelope[] = [];
  const consumer = createConsumer({
    name,
    db: t.db,
    backbone: unusedBackbone,
    schema: t.schema,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    receive,
    handlers: {
      customer: {
        async apply(_tx, event) {
          seen.push(event);
        },
      },
    },
  });
  return { consumer, seen };
}

/** The outbox row of `eventId` as the relay would publish it (the version added back). */
export async function published(t: TestDb, eventId: string): Promise<Envelope> {
  const row = (
    await t.db.query<{ entity_version: number; envelope: Record<string, unknown> }>(
      `SELECT entity_version, envelope FROM "${t.schema}".outbox WHERE event_id = $1`,
      [eventId],
    )
  ).rows[0];
  if (!row) throw new Error(`no outbox row for ${eventId}`);
  return { ...row.envelope, entityversion: Number(row.entity_version) } as unknown as Envelope;
}

export async function deadLetters(
  t: TestDb,
  consumer: string,
): Promise<{ event_id: string; code: string; reason: string; status: string }[]> {
  return (
    await t.db.query<{ event_id: string; code: string; reason: string; status: string }>(
      `SELECT event_id, code, reason, status FROM "${t.schema}".dead_letters WHERE consumer = $1 ORDER BY id`,
      [consumer],
    )
  ).rows;
}

import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDebeziumIngest, debeziumHttp, type DebeziumIngest } from '../../src/cdc/index.js';
import { isTidemarkError } from '../../src/errors.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { debeziumEvent } from './debezium-events.js';
import { context, customerTranslator } from './legacy.js';

const table = 'legacy.customers';
const kinds = await databaseKinds();

describe.each(kinds)('Debezium input on $name', (kind) => {
  let tidemark: TestDb;
  let counter = 0;

  beforeAll(async () => {
    tidemark = await kind.open();
    await registerAuthority(tidemark.db, { entityType: 'customer', context }, tidemark.schema);
  });
  afterAll(async () => {
    await tidemark.cleanup();
  });

  function ingestFor(translator = customerTranslator(table, { key: ['id'] })): DebeziumIngest {
    counter += 1;
    return createDebeziumIngest({
      name: `dbz_${counter}`,
      translators: [translator],
      sink: {
        db: tidemark.db,
        schema: tidemark.schema,
        producer: createProducer({ context, schema: tidemark.schema, notify: false }),
      },
    });
  }

  /** Unique entity ids per test, so the tests share one schema without seeing each other. */
  const ids = () => [counter * 100 + 1, counter * 100 + 2];

  async function outboxOf(entityIds: number[]) {
    const { rows } = await tidemark.db.query<{ id: string; type: string; kind: string; data: unknown }>(
      `SELECT entity_id AS id, envelope->>'type' AS type, envelope->>'kind' AS kind, envelope->'data' AS data
       FROM "${tidemark.schema}".outbox WHERE entity_id = ANY ($1::text[]) ORDER BY txid, position`,
      [entityIds.map(String)],
    );
    return rows;
  }

  async function deadLettersOf(ingest: DebeziumIngest) {
    const { rows } = await tidemark.db.query<{ code: string; reason: string; envelope: { event: unknown } }>(
      `SELECT code, reason, envelope FROM "${tidemark.schema}".dead_letters WHERE consumer = $1 ORDER BY id`,
      [`cdc:${ingest.name}`],
    );
    return rows;
  }

  it('Given snapshot, insert, update and delete events, when the batch is delivered twice, then the translators emit each event once in order', async () => {
    const ingest = ingestFor();
    const [a, b] = ids() as [number, number];
    const batch = [
      debeziumEvent(table, 'r', { after: { id: a, rev: 1, addr_line1: '1 Old Road' } }),
      debeziumEvent(table, 'c', { after: { id: b, rev: 1, addr_line1: '2 Mill Lane' } }),
      debeziumEvent(table, 'u', { after: { id: a, rev: 2, addr_line1: '9 New Street' } }),
      null, // the Kafka tombstone after a delete
      debeziumEvent(table, 'd', { before: { id: b, rev: 1, addr_line1: null } }),
    ];

    const first = await ingest.ingest(batch);
    const again = await ingest.ingest(batch);

    expect(first).toEqual({ changes: 4, duplicates: 0, events: 4, rejected: 0, invalid: 0, ignored: 1 });
    expect(again).toEqual({ changes: 0, duplicates: 4, events: 0, rejected: 0, invalid: 0, ignored: 1 });
    expect((await outboxOf([a, b])).map((e) => `${e.type}:${e.id}`)).toEqual([
      `CustomerSnapshot:${a}`,
      `CustomerAddressChanged:${b}`,
      `CustomerAddressChanged:${a}`,
      `customer.deleted:${b}`,
    ]);
    expect((await outboxOf([a]))[1]!.data).toEqual({ rev: 2, op: 'update', addressLine1: '9 New Street' });
  });

  it('Given one change delivered twice within one batch, then it is emitted once', async () => {
    const ingest = ingestFor();
    const [a] = ids() as [number];
    const event = debeziumEvent(table, 'c', { after: { id: a, rev: 1, addr_line1: 'x' } });
    expect((await ingest.ingest([event, structuredClone(event)])).events).toBe(1);
    expect(await outboxOf([a])).toHaveLength(1);
  });

  it('Given dedup entries older than a cut-off, when they are forgotten, then only those go and a later redelivery is emitted again', async () => {
    const ingest = ingestFor();
    const [a] = ids() as [number];
    const event = debeziumEvent(table, 'c', { after: { id: a, rev: 1, addr_line1: 'x' } });
    await ingest.ingest([event]);
    expect(await ingest.forgetSeen(new Date(Date.now() - 3_600_000))).toBe(0);
    expect((await ingest.ingest([event])).duplicates).toBe(1);
    expect(await ingest.forgetSeen(new Date(Date.now() + 3_600_000))).toBe(1);
    expect((await ingest.ingest([event])).changes).toBe(1);
  });

  it('Given malformed events among good ones, then each malformed event is a TM_CDC_EVENT_INVALID dead letter with its reason, the good ones are emitted, and a redelivery adds no second dead letter', async () => {
    const ingest = ingestFor();
    const [a] = ids() as [number];
    const good = debeziumEvent(table, 'c', { after: { id: a, rev: 1, addr_line1: 'ok' } });
    const badOp = { ...debeziumEvent(table, 'c', { after: { id: a, rev: 1, addr_line1: 'x' } }), op: 'z' };
    const noLsn = debeziumEvent(table, 'u', { after: { id: a, rev: 2, addr_line1: 'y' } });
    (noLsn.source as Record<string, unknown>).lsn = 'yesterday';
    const noAfter = debeziumEvent(table, 'c', {});
    const otherTable = debeziumEvent('legacy.agents', 'c', { after: { id: 1, rev: 1, addr_line1: null } });
    const noKey = debeziumEvent(table, 'c', { after: { rev: 1, addr_line1: 'z' } as never });
    const batch = [badOp, good, noLsn, 'not an event', noAfter, otherTable, noKey];

    expect(await ingest.ingest(batch)).toMatchObject({ events: 1, invalid: 6 });
    await ingest.ingest(batch);

    const dead = await deadLettersOf(ingest);
    expect(dead.map((d) => d.code)).toEqual(Array(6).fill('TM_CDC_EVENT_INVALID'));
    expect(dead.map((d) => d.reason)).toEqual([
      expect.stringContaining('"op" is "z"'),
      expect.stringContaining('source.lsn is "yesterday"'),
      expect.stringContaining('must be a JSON object'),
      expect.stringContaining('has no "after" row'),
      expect.stringContaining('no translator is configured for legacy.agents'),
      expect.stringContaining('no value for key column "id"'),
    ]);
    expect(dead[0]!.envelope.event).toEqual(badOp);
    expect(await outboxOf([a])).toHaveLength(1);
  });

  it('Given a translator that throws, then the change is a TM_CDC_TRANSLATION_FAILED dead letter, as on the native path', async () => {
    const ingest = ingestFor(
      customerTranslator(table, {
        key: ['id'],
        translate: () => {
          throw new Error('status code Q is not in the published language');
        },
      }),
    );
    const [a] = ids() as [number];
    const outcome = await ingest.ingest([
      debeziumEvent(table, 'c', { after: { id: a, rev: 1, addr_line1: 'q' } }),
    ]);
    expect(outcome).toMatchObject({ changes: 1, events: 0, rejected: 1 });
    const dead = await deadLettersOf(ingest);
    expect(dead.map((d) => d.code)).toEqual(['TM_CDC_TRANSLATION_FAILED']);
    expect(dead[0]!.reason).toContain('status code Q is not in the published language');
  });

  it('Given a translator without key columns, then creating the input fails naming the fix', () => {
    const refused = (() => {
      try {
        ingestFor(customerTranslator(table));
        return undefined;
      } catch (err) {
        return err;
      }
    })();
    expect(isTidemarkError(refused, 'TM_INVALID_ARGUMENT')).toBe(true);
    expect((refused as Error).message).toContain("add key: ['<primary-key column>'");
  });

  it('Given the HTTP endpoint, when Debezium Server posts an event with the token, then it is ingested; without the token it is refused with a problem document', async () => {
    const ingest = ingestFor();
    const [a] = ids() as [number];
    const app = Fastify();
    await app.register(debeziumHttp, { ingest, token: 'secret-token-of-the-sink' });
    try {
      const event = debeziumEvent(table, 'c', { after: { id: a, rev: 1, addr_line1: 'posted' } });
      const refused = await app.inject({ method: 'POST', url: '/debezium', payload: event });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json()).toMatchObject({ code: 'TM_UNAUTHENTICATED' });
      expect(await outboxOf([a])).toHaveLength(0);

      const accepted = await app.inject({
        method: 'POST',
        url: '/debezium',
        payload: event,
        headers: { authorization: 'Bearer secret-token-of-the-sink' },
      });
      expect(accepted.statusCode).toBe(200);
      expect(accepted.json()).toMatchObject({ changes: 1, events: 1 });
      expect((await outboxOf([a])).map((e) => e.type)).toEqual(['CustomerAddressChanged']);
    } finally {
      await app.close();
    }
  });
});

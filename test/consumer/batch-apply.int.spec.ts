import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createConsumer, type Consumer, type Outcome } from '../../src/consumer/index.js';
import type { Envelope, EventKind } from '../../src/envelope/index.js';
import { history } from '../support/histories.js';
import type { Backbone, BackboneMessage } from '../../src/backbone/index.js';
import { TidemarkError } from '../../src/errors.js';

/** Batches are handed over directly, as a backbone would; the backbone itself is never used. */
const unusedBackbone = {} as Backbone;

const asMessages = (events: readonly Envelope[]): BackboneMessage[] =>
  events.map((envelope, i) => ({ envelope, partition: 0, offset: i + 1, deliveryAttempt: 1 }));

interface Recorder {
  readonly consumer: Consumer;
  /** Warnings logged: the batch path logs one each time it gives a batch up for the careful path. */
  readonly fallbacks: unknown[];
  readonly outcomes: Outcome[];
}

function recordingConsumer(t: TestDb, name: string, poison?: (event: Envelope) => boolean): Recorder {
  const s = `"${t.schema}"`;
  const fallbacks: unknown[] = [];
  const outcomes: Outcome[] = [];
  const consumer = createConsumer({
    name,
    db: t.db,
    backbone: unusedBackbone,
    schema: t.schema,
    retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    logger: {
      info() {},
      error() {},
      warn: (fields: unknown, message?: string) => {
        if (message?.startsWith('batch apply failed')) fallbacks.push(fields);
      },
    },
    onOutcome: (outcome) => outcomes.push(outcome),
    handlers: {
      customer: {
        async apply(tx, event) {
          if (poison?.(event)) {
            throw new TidemarkError(
              'TM_INVALID_ARGUMENT',
              `poisoned ${event.entityid}@${event.entityversion}`,
              {
                retryable: false,
              },
            );
          }
          await tx.query(`INSERT INTO ${s}.effects (consumer, entity_id, version) VALUES ($1, $2, $3)`, [
            name,
            event.entityid,
            event.entityversion,
          ]);
          await tx.query(
            `INSERT INTO ${s}.projection (consumer, entity_id, value) VALUES ($1, $2, $3)
             ON CONFLICT (consumer, entity_id) DO UPDATE SET value = $3`,
            [name, event.entityid, (event.data as { value: string }).value],
          );
        },
      },
    },
  });
  return { consumer, fallbacks, outcomes };
}

async function rowsOf(t: TestDb, sql: string, consumer: string): Promise<string[]> {
  const rows = await t.db.query<{ row: string }>(sql.replaceAll('$s', `"${t.schema}"`), [consumer]);
  return rows.rows.map((r) => r.row);
}

/** Everything the two paths must agree on: effects in order, projection, inbox, applied versions, ledger. */
async function footprint(t: TestDb, consumer: string) {
  return {
    effects: await rowsOf(
      t,
      `SELECT entity_id || '@' || version AS row FROM $s.effects WHERE consumer = $1 ORDER BY seq`,
      consumer,
    ),
    projection: await rowsOf(
      t,
      `SELECT entity_id || '=' || value AS row FROM $s.projection WHERE consumer = $1 ORDER BY 1`,
      consumer,
    ),
    inbox: await rowsOf(
      t,
      `SELECT event_id || ' ' || outcome AS row FROM $s.inbox WHERE consumer = $1 ORDER BY 1`,
      consumer,
    ),
    versions: await rowsOf(
      t,
      `SELECT entity_id || '@' || version AS row FROM $s.consumer_entities WHERE consumer = $1 ORDER BY 1`,
      consumer,
    ),
    stages: await rowsOf(
      t,
      `SELECT entity_id || '@' || entity_version || ' ' || stage AS row FROM $s.ledger_stages WHERE context = $1 ORDER BY 1`,
      consumer,
    ),
    held: await rowsOf(
      t,
      `SELECT entity_id || '@' || entity_version AS row FROM $s.consumer_pending WHERE consumer = $1 ORDER BY 1`,
      consumer,
    ),
  };
}

/** Entities of either kind, every event delivered 1–3 times, shuffled, then cut into batches of 1–8. */
const scenario = fc
  .array(fc.tuple(fc.constantFrom<EventKind>('domain', 'state'), fc.integer({ min: 1, max: 6 })), {
    minLength: 1,
    maxLength: 4,
  })
  .chain((entities) => {
    const events = entities.flatMap(([kind, n], e) => history(`e${e}`, kind, n));
    return fc
      .array(fc.integer({ min: 1, max: 3 }), { minLength: events.length, maxLength: events.length })
      .chain((copies) => {
        const deliveries = events.flatMap((event, i) => Array.from({ length: copies[i]! }, () => event));
        return fc.tuple(
          fc.shuffledSubarray(deliveries, { minLength: deliveries.length, maxLength: deliveries.length }),
          fc.array(fc.integer({ min: 1, max: 8 }), {
            minLength: deliveries.length,
            maxLength: deliveries.length,
          }),
        );
      })
      .map(([deliveries, cuts]) => {
        const batches: Envelope[][] = [];
        for (let i = 0, c = 0; i < deliveries.length; i += cuts[c++]!)
          batches.push(deliveries.slice(i, i + cuts[c]!));
        return { entities, deliveries, batches };
      });
  });

describe.each(await databaseKinds())('consumer batch apply ($name)', (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await kind.open();
    const s = `"${t.schema}"`;
    await t.db.query(`CREATE TABLE ${s}.effects (
      seq bigserial PRIMARY KEY, consumer text NOT NULL, entity_id text NOT NULL, version int NOT NULL)`);
    await t.db.query(`CREATE TABLE ${s}.projection (
      consumer text NOT NULL, entity_id text NOT NULL, value text NOT NULL, PRIMARY KEY (consumer, entity_id))`);
  });
  afterAll(() => t.cleanup());

  it('leaves exactly the footprint of event-by-event handling, for any batching of duplicated, reordered deliveries', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ entities, deliveries, batches }) => {
        const run = randomUUID().slice(0, 8);
        const batched = recordingConsumer(t, `b${run}`);
        const single = recordingConsumer(t, `s${run}`);
        for (const batch of batches) await batched.consumer.handleBatch(asMessages(batch));
        for (const event of deliveries) await single.consumer.handle(event);

        // The batch path did the work itself: it never gave a batch up to the careful path.
        expect(batched.fallbacks).toEqual([]);
        const [b, s] = [await footprint(t, `b${run}`), await footprint(t, `s${run}`)];
        expect(b).toEqual(s);
        // And that footprint is the right one: domain versions once each in order, state versions growing.
        entities.forEach(([kindOf, n], e) => {
          const applied = b.effects.filter((x) => x.startsWith(`e${e}@`)).map((x) => Number(x.split('@')[1]));
          if (kindOf === 'domain') expect(applied).toEqual(Array.from({ length: n }, (_, i) => i + 1));
          else applied.forEach((v, i) => i > 0 && expect(v).toBeGreaterThan(applied[i - 1]!));
          expect(applied.at(-1)).toBe(n);
        });
        expect(b.held).toEqual([]);
        expect(batched.outcomes.filter((o) => o.kind === 'applied').length).toBe(b.effects.length);
      }),
      { numRuns: kind.concurrent ? 60 : 40 },
    );
  });

  it('a poisoned event dead-letters alone: its key parks, the other keys of the batch still apply, and later batches keep both', async () => {
    const name = `p${randomUUID().slice(0, 8)}`;
    const r = recordingConsumer(t, name, (e) => e.entityid === 'bad' && e.entityversion === 2);
    const bad = history('bad', 'domain', 4);
    const good = history('good', 'domain', 4);
    await r.consumer.handleBatch(asMessages([good[0]!, bad[0]!, bad[1]!, good[1]!, bad[2]!]));
    // A failing handler rolls the batch back once; the careful path then settles it event by event.
    expect(r.fallbacks).toHaveLength(1);
    await r.consumer.handleBatch(asMessages([good[2]!, bad[3]!, good[3]!]));
    // The parked key is recognised from the lookup: no second fallback for the later batch.
    expect(r.fallbacks).toHaveLength(1);
    const f = await footprint(t, name);
    // Keys go side by side on the careful path, so order is asserted per key.
    const ofKey = (rows: readonly string[], key: string) => rows.filter((x) => x.startsWith(`${key}@`));
    expect(ofKey(f.effects, 'good')).toEqual(['good@1', 'good@2', 'good@3', 'good@4']);
    expect(ofKey(f.effects, 'bad')).toEqual(['bad@1']);
    const dead = await t.db.query<{ entity_version: number; status: string }>(
      `SELECT entity_version, status FROM "${t.schema}".dead_letters WHERE consumer = $1 ORDER BY id`,
      [name],
    );
    expect(dead.rows.map((d) => [Number(d.entity_version), d.status])).toEqual([
      [2, 'open'],
      [3, 'parked'],
      [4, 'parked'],
    ]);
    const told = r.outcomes.map((o) => `${o.envelope.entityid}@${o.envelope.entityversion} ${o.kind}`);
    expect(ofKey(told, 'good')).toEqual([
      'good@1 applied',
      'good@2 applied',
      'good@3 applied',
      'good@4 applied',
    ]);
    expect(ofKey(told, 'bad')).toEqual([
      'bad@1 applied',
      'bad@2 dead-lettered',
      'bad@3 parked',
      'bad@4 parked',
    ]);
  });

  it('events held in an earlier batch are released in order when a later batch closes the gap', async () => {
    const name = `h${randomUUID().slice(0, 8)}`;
    const r = recordingConsumer(t, name);
    const a = history('a', 'domain', 4);
    const other = history('o', 'state', 2);
    await r.consumer.handleBatch(asMessages([a[2]!, other[0]!, a[3]!]));
    expect((await footprint(t, name)).held).toEqual(['a@3', 'a@4']);
    await r.consumer.handleBatch(asMessages([a[0]!, other[1]!, a[1]!]));
    const f = await footprint(t, name);
    expect(f.effects).toEqual(['o@1', 'a@1', 'o@2', 'a@2', 'a@3', 'a@4']);
    expect(f.held).toEqual([]);
    expect(f.versions).toEqual(['a@4', 'o@2']);
    expect(r.fallbacks).toEqual([]);
  });
});

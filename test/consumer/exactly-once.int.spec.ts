import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { embeddedDb, postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import type { EventKind } from '../../src/envelope/index.js';
import { history } from '../support/histories.js';
import type { Backbone } from '../../src/backbone/index.js';

/** The consumer is driven through `handle`; the backbone is never used in these tests. */
const unusedBackbone = {} as Backbone;

function recordingConsumer(t: TestDb, name: string, db = t.db): Consumer {
  const s = `"${t.schema}"`;
  return createConsumer({
    name,
    db,
    backbone: unusedBackbone,
    schema: t.schema,
    retry: { attempts: 20, baseDelayMs: 1, maxDelayMs: 20 },
    handlers: {
      customer: {
        async apply(tx, event) {
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
}

async function createTables(t: TestDb): Promise<void> {
  const s = `"${t.schema}"`;
  await t.db.query(`CREATE TABLE ${s}.effects (
    seq bigserial PRIMARY KEY, consumer text NOT NULL, entity_id text NOT NULL, version int NOT NULL)`);
  await t.db.query(`CREATE TABLE ${s}.projection (
    consumer text NOT NULL, entity_id text NOT NULL, value text NOT NULL, PRIMARY KEY (consumer, entity_id))`);
}

async function effectsOf(t: TestDb, consumer: string): Promise<Map<string, number[]>> {
  const rows = await t.db.query<{ entity_id: string; version: number }>(
    `SELECT entity_id, version FROM "${t.schema}".effects WHERE consumer = $1 ORDER BY seq`,
    [consumer],
  );
  const byEntity = new Map<string, number[]>();
  for (const r of rows.rows)
    byEntity.set(r.entity_id, [...(byEntity.get(r.entity_id) ?? []), Number(r.version)]);
  return byEntity;
}

async function projectionOf(t: TestDb, consumer: string): Promise<Record<string, string>> {
  const rows = await t.db.query<{ entity_id: string; value: string }>(
    `SELECT entity_id, value FROM "${t.schema}".projection WHERE consumer = $1`,
    [consumer],
  );
  return Object.fromEntries(rows.rows.map((r) => [r.entity_id, r.value]));
}

/** Per-entity histories, then a delivery order: every event at least once, some several times, shuffled. */
const scenario = (kind: EventKind) =>
  fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }).chain((lengths) => {
    const events = lengths.flatMap((n, e) => history(`e${e}`, kind, n));
    return fc
      .tuple(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: events.length, maxLength: events.length }),
        fc.infiniteStream(fc.nat()),
      )
      .chain(([copies]) => {
        const deliveries = events.flatMap((event, i) => Array.from({ length: copies[i]! }, () => event));
        return fc.shuffledSubarray(deliveries, {
          minLength: deliveries.length,
          maxLength: deliveries.length,
        });
      })
      .map((deliveries) => ({ lengths, deliveries }));
  });

describe('consumer exactly-once effects and per-entity order (PGlite)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await embeddedDb();
    await createTables(t);
  });
  afterAll(() => t.cleanup());

  it('domain events: any interleaving with duplicates and reordering applies each version once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario('domain'), async ({ lengths, deliveries }) => {
        const name = `c${randomUUID().slice(0, 8)}`;
        const consumer = recordingConsumer(t, name);
        for (const event of deliveries) await consumer.handle(event);
        const effects = await effectsOf(t, name);
        const projection = await projectionOf(t, name);
        lengths.forEach((n, e) => {
          expect(effects.get(`e${e}`)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
          expect(projection[`e${e}`]).toBe(`e${e}@${n}`);
        });
        expect(await consumer.heldCount()).toBe(0);
      }),
      { numRuns: 40 },
    );
  });

  it('state events: the newest version wins, each version takes effect at most once, versions only grow', async () => {
    await fc.assert(
      fc.asyncProperty(scenario('state'), async ({ lengths, deliveries }) => {
        const name = `c${randomUUID().slice(0, 8)}`;
        const consumer = recordingConsumer(t, name);
        for (const event of deliveries) await consumer.handle(event);
        const effects = await effectsOf(t, name);
        const projection = await projectionOf(t, name);
        lengths.forEach((n, e) => {
          const applied = effects.get(`e${e}`)!;
          expect(applied.at(-1)).toBe(n);
          applied.forEach((v, i) => i > 0 && expect(v).toBeGreaterThan(applied[i - 1]!));
          expect(projection[`e${e}`]).toBe(`e${e}@${n}`);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('rejects a reused event id with different content and records the reason, never a silent skip', async () => {
    const consumer = recordingConsumer(t, 'forgery');
    const [original] = history('f1', 'domain', 1);
    await consumer.handle(original);
    const forged = { ...original!, data: { value: 'attacker' } };
    const [outcome] = await consumer.handle(forged);
    expect(outcome).toMatchObject({ kind: 'dead-lettered' });
    expect(outcome!.reason).toMatch(/already received with different content/);
    const dead = await t.db.query<{ code: string; event_id: string }>(
      `SELECT code, event_id FROM "${t.schema}".dead_letters WHERE consumer = 'forgery'`,
    );
    expect(dead.rows).toEqual([{ code: 'TM_INBOX_ID_CONFLICT', event_id: original!.id }]);
    expect(await projectionOf(t, 'forgery')).toEqual({ f1: 'f1@1' });
  });

  it('rejects a malformed envelope with the attribute at fault, and keeps going', async () => {
    const consumer = recordingConsumer(t, 'malformed');
    const [bad] = await consumer.handle({ specversion: '1.0', id: 'x', entityversion: 'three' });
    expect(bad).toMatchObject({ kind: 'dead-lettered' });
    expect(bad!.reason).toMatch(/entityversion: expected an integer/);
    const [good] = await consumer.handle(history('m1', 'state', 1)[0]);
    expect(good).toMatchObject({ kind: 'applied' });
  });

  it('retries a throwing handler and applies the event once it succeeds', async () => {
    let failures = 2;
    const s = `"${t.schema}"`;
    const consumer = createConsumer({
      name: 'flaky',
      db: t.db,
      backbone: unusedBackbone,
      schema: t.schema,
      retry: { attempts: 5, baseDelayMs: 1 },
      handlers: {
        customer: {
          async apply(tx, event) {
            await tx.query(
              `INSERT INTO ${s}.effects (consumer, entity_id, version) VALUES ('flaky', $1, $2)`,
              [event.entityid, event.entityversion],
            );
            if (failures-- > 0) throw new Error('downstream timeout');
          },
        },
      },
    });
    const [outcome] = await consumer.handle(history('r1', 'state', 1)[0]);
    expect(outcome).toMatchObject({ kind: 'applied' });
    // The two failed attempts rolled back their effect rows.
    expect((await effectsOf(t, 'flaky')).get('r1')).toEqual([1]);
  });
});

const serverAvailable = await postgresAvailable();

describe.runIf(serverAvailable)('consumer instances racing on the same events (server PostgreSQL)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await serverDb({ max: 12 });
    await createTables(t);
  });
  afterAll(() => t.cleanup());

  it('two instances handling the same shuffled deliveries at once still apply each version once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(scenario('domain'), async ({ lengths, deliveries }) => {
        const name = `c${randomUUID().slice(0, 8)}`;
        const first = recordingConsumer(t, name);
        const second = recordingConsumer(t, name);
        const reversed = [...deliveries].reverse();
        await Promise.all([
          (async () => {
            for (const e of deliveries) await first.handle(e);
          })(),
          (async () => {
            for (const e of reversed) await second.handle(e);
          })(),
        ]);
        const effects = await effectsOf(t, name);
        lengths.forEach((n, e) =>
          expect(effects.get(`e${e}`)).toEqual(Array.from({ length: n }, (_, i) => i + 1)),
        );
        expect(await first.heldCount()).toBe(0);
      }),
      { numRuns: 25 },
    );
  });
});

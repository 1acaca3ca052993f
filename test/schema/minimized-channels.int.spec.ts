/**
 * Data minimization end to end, as a property over random payloads: the topology gives
 * `billing` and `claims` field allow-lists, the relay publishes through the audience router,
 * and whatever the payload (random nested objects reusing the allowed and forbidden names at
 * any depth, valid or not), a restricted consumer never holds a field it is not allowed — not
 * on its channel, in its handler, inbox, held events or dead letters — and the pull API gives
 * it the same cut of the state.
 */
import Fastify from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import type { Envelope } from '../../src/envelope/index.js';
import { TidemarkError } from '../../src/errors.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { authorityReadApi } from '../../src/pull/read-api.js';
import { createAudienceBackbone, minimizedAttribute } from '../../src/relay/audiences.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { migrate } from '../../src/store/migrate.js';
import { parseTopology, type Topology } from '../../src/topology/index.js';
import { receiveFieldsOf } from '../../src/topology/field-policy.js';
import { databaseKinds } from '../support/both-databases.js';
import { uniqueSchema, type TestDb } from '../support/services.js';
import { forbiddenIn, payload, schemas, topologyText, type } from './minimize-support.js';

const kinds = await databaseKinds();

/**
 * One entity's events: delivered newest first when `reverse` (the later ones are held for the
 * gap); with `poison` the handler fails for good on version 1 (a dead letter, the rest parked).
 */
const entityCase = fc.record({
  payloads: fc.array(payload, { minLength: 1, maxLength: 3 }),
  reverse: fc.boolean(),
  poison: fc.boolean(),
});

describe.each(kinds)('minimized channels on $name', (kind) => {
  let t: TestDb;
  let topology: Topology;
  let relay: Relay;
  const audienceSchemas = { billing: uniqueSchema('aud'), claims: uniqueSchema('aud') };
  const consumers: Record<string, Consumer> = {};
  /** What each consumer's handler was given. */
  const seen: Record<string, Envelope[]> = { billing: [], claims: [] };
  let sequence = 0;

  beforeAll(async () => {
    t = await kind.open();
    const parsed = parseTopology(topologyText, 'minimize.yaml', { schemas });
    if (!parsed.valid) throw new Error(JSON.stringify(parsed.errors));
    topology = parsed.topology;
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
    for (const schema of Object.values(audienceSchemas)) await migrate(t.db, schema);
    const router = createAudienceBackbone({
      shared: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 4 }),
      audiences: {
        billing: await createPostgresLog({ db: t.db, schema: audienceSchemas.billing, partitions: 4 }),
        claims: await createPostgresLog({ db: t.db, schema: audienceSchemas.claims, partitions: 4 }),
      },
      topology,
      schemas,
    });
    relay = createRelay({ db: t.db, backbone: router, schema: t.schema });
    for (const name of ['billing', 'claims'] as const) {
      consumers[name] = createConsumer({
        name,
        db: t.db,
        backbone: router.for(name),
        schema: t.schema,
        retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 2 },
        receive: { schemas, fields: receiveFieldsOf(topology, name) },
        handlers: {
          customer: {
            async apply(_tx, event) {
              seen[name]!.push(event);
              if (event.entityid.endsWith('-p') && event.entityversion === 1) {
                throw new TidemarkError('TM_INVALID_ARGUMENT', 'poison', { retryable: false });
              }
            },
          },
        },
      });
    }
  }, 60_000);
  afterAll(async () => {
    for (const schema of Object.values(audienceSchemas)) {
      await t.db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
    await t.cleanup();
  });

  const rowsOf = async <R>(sql: string, params: unknown[] = []) => (await t.db.query<R>(sql, params)).rows;

  /**
   * Drains until the run's events are in the shared log: on a shared server another session's
   * open transaction can hold the relay's read horizon back for a moment.
   */
  const relayAll = async (ids: string[], count: number) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      await relay.drain();
      const [row] = await rowsOf<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${t.schema}".log WHERE envelope->>'entityid' = ANY($1)`,
        [ids],
      );
      if (row!.n === count) return;
      if (Date.now() > deadline) throw new Error(`relayed ${row!.n} of ${count} events in 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('a restricted consumer never holds a field it is not allowed (channel, handler, inbox, held, dead letters)', async () => {
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const stats = { events: 0, held: 0, deadLetters: 0, applied: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(entityCase, { minLength: 1, maxLength: 3 }), async (cases) => {
        const full: Envelope[] = [];
        const ids: string[] = [];
        for (const entity of cases) {
          const id = `c-${++sequence}${entity.poison ? '-p' : ''}`;
          ids.push(id);
          for (const data of entity.payloads) {
            await t.db.transaction((tx) =>
              producer.append(
                tx,
                { type: 'customer', id },
                { kind: 'domain', type, data },
                { schemaVersion: 1 },
              ),
            );
          }
        }
        await relayAll(
          ids,
          cases.reduce((n, c) => n + c.payloads.length, 0),
        );
        for (const name of ['billing', 'claims'] as const) {
          const s = `"${audienceSchemas[name]}"`;
          // The channel itself: every copy is marked for this consumer and carries nothing more.
          const channel = await rowsOf<{ envelope: Envelope }>(
            `SELECT envelope FROM ${s}.log WHERE envelope->>'entityid' = ANY($1) ORDER BY log_offset`,
            [ids],
          );
          expect(channel.length).toBe(cases.reduce((n, c) => n + c.payloads.length, 0));
          for (const { envelope } of channel) {
            expect((envelope as unknown as Record<string, unknown>)[minimizedAttribute]).toBe(name);
            expect(forbiddenIn(name, envelope.data)).toEqual([]);
          }
          // Deliver per entity, some newest first (held), poisoned ones dead-lettered.
          const byEntity = new Map<string, Envelope[]>();
          for (const { envelope } of channel) {
            byEntity.set(envelope.entityid, [...(byEntity.get(envelope.entityid) ?? []), envelope]);
          }
          for (const [entityIndex, events] of [...byEntity.values()].entries()) {
            const order = cases[entityIndex]!.reverse ? [...events].reverse() : events;
            for (const event of order) {
              const outcomes = await consumers[name]!.handle(event);
              stats.events++;
              for (const o of outcomes) {
                if (o.kind === 'held') stats.held++;
                if (o.kind === 'dead-lettered') stats.deadLetters++;
                if (o.kind === 'applied') stats.applied++;
              }
              const pending = await rowsOf<{ envelope: Envelope }>(
                `SELECT envelope FROM "${t.schema}".consumer_pending WHERE consumer = $1`,
                [name],
              );
              for (const row of pending) expect(forbiddenIn(name, row.envelope.data)).toEqual([]);
            }
          }
          for (const event of seen[name]!) expect(forbiddenIn(name, event.data)).toEqual([]);
          const letters = await rowsOf<{ envelope: Envelope; original_envelope: Envelope | null }>(
            `SELECT envelope, original_envelope FROM "${t.schema}".dead_letters WHERE consumer = $1`,
            [name],
          );
          for (const row of letters) {
            expect(forbiddenIn(name, row.envelope.data)).toEqual([]);
            expect(forbiddenIn(name, row.original_envelope?.data)).toEqual([]);
          }
          // The inbox keeps ids, versions and a digest: no column of it holds a payload.
          const inbox = await rowsOf<Record<string, unknown>>(
            `SELECT * FROM "${t.schema}".inbox WHERE consumer = $1`,
            [name],
          );
          for (const row of inbox) {
            for (const value of Object.values(row)) {
              expect(value === null || typeof value !== 'object' || value instanceof Date).toBe(true);
            }
          }
        }
        // The shared channel still carries the whole event for unrestricted consumers.
        full.push(
          ...(
            await rowsOf<{ envelope: Envelope }>(`SELECT envelope FROM "${t.schema}".log ORDER BY log_offset`)
          ).map((r) => r.envelope),
        );
        expect(full.length).toBeGreaterThanOrEqual(cases.length);
      }),
      { numRuns: kind.concurrent ? 25 : 15 },
    );
    // The property exercised every place a field could sit.
    expect(stats.applied).toBeGreaterThan(0);
    expect(stats.held).toBeGreaterThan(0);
    expect(stats.deadLetters).toBeGreaterThan(0);
    // And the router did cut something: some forbidden field reached the shared log.
    const shared = await rowsOf<{ envelope: Envelope }>(`SELECT envelope FROM "${t.schema}".log`);
    expect(shared.some((r) => forbiddenIn('billing', r.envelope.data).length > 0)).toBe(true);
  }, 120_000);

  it('the pull API gives a caller named as that consumer the same cut of the state', async () => {
    const states = new Map<string, unknown>();
    const app = Fastify();
    await app.register(authorityReadApi, {
      readers: {
        customer: (ids) =>
          Promise.resolve(
            ids
              .filter((id) => states.has(id))
              .map((id) => ({ id, version: 1, updatedAt: new Date(0), state: states.get(id) })),
          ),
      },
      minimize: { topology, schemas },
    });
    try {
      await fc.assert(
        fc.asyncProperty(payload, async (state) => {
          const id = `s-${++sequence}`;
          states.set(id, state);
          for (const name of ['billing', 'claims'] as const) {
            const single = await app.inject({
              url: `/entities/customer/${id}`,
              headers: { 'tidemark-consumer': name },
            });
            expect(single.statusCode).toBe(200);
            expect(forbiddenIn(name, (single.json() as { state: unknown }).state)).toEqual([]);
            const batch = await app.inject({
              method: 'POST',
              url: '/entities/customer:batchGet',
              headers: { 'tidemark-consumer': name },
              payload: { ids: [id] },
            });
            const [entity] = (batch.json() as { entities: { state: unknown }[] }).entities;
            expect(forbiddenIn(name, entity!.state)).toEqual([]);
            expect(entity!.state).toEqual((single.json() as { state: unknown }).state);
          }
        }),
        { numRuns: 150 },
      );
      // A caller that names no consumer, or a context without a flow, gets nothing.
      states.set('x', { customerId: 'x' });
      expect((await app.inject({ url: '/entities/customer/x' })).statusCode).toBe(403);
      expect(
        (await app.inject({ url: '/entities/customer/x', headers: { 'tidemark-consumer': 'profile' } }))
          .statusCode,
      ).toBe(403);
    } finally {
      await app.close();
    }
  });
});

/**
 * Minimized channels on NATS JetStream: the shared channel and billing's channel are two
 * streams (the audience's subjects can then be granted to billing's NATS user alone). The relay
 * cannot publish to NATS inside its transaction, so this runs the router's at-least-once path.
 * Over random payloads, billing's stream, handler and dead letters hold only allowed fields,
 * while the shared stream carries the events whole.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backbone, BackboneMessage } from '../../src/backbone/index.js';
import { createNatsJetStream } from '../../src/backbone/nats-jetstream/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import type { Envelope } from '../../src/envelope/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import {
  createAudienceBackbone,
  minimizedAttribute,
  type AudienceBackbone,
} from '../../src/relay/audiences.js';
import { createRelay } from '../../src/relay/index.js';
import { parseTopology } from '../../src/topology/index.js';
import { receiveFieldsOf } from '../../src/topology/field-policy.js';
import { natsAvailable, natsServers, uniqueStream } from '../contract/backbone/nats-service.js';
import { embeddedDb, postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { forbiddenIn, payload, schemas, topologyText, type } from './minimize-support.js';

const available = await natsAvailable();

describe.runIf(available)('minimized channels on NATS JetStream', () => {
  let t: TestDb;
  let router: AudienceBackbone;
  let billing: Consumer;
  const streams = { shared: uniqueStream(), billing: uniqueStream(), claims: uniqueStream() };
  const seen: Envelope[] = [];
  /** Everything on each stream, read by a spy group of its own. */
  const spied: Record<string, Envelope[]> = { shared: [], billing: [] };
  const spies: { stop(): Promise<void> }[] = [];

  const open = (names: { stream: string; subjectPrefix: string }) =>
    createNatsJetStream({ servers: natsServers, ...names, partitions: 2, leaseTtlMs: 1_500, pollMs: 200 });
  const spy = async (backbone: Backbone, into: Envelope[]) =>
    spies.push(
      await backbone.subscribe('spy', async (messages: readonly BackboneMessage[]) => {
        for (const m of messages) if (!into.some((e) => e.id === m.envelope.id)) into.push(m.envelope);
      }),
    );

  beforeAll(async () => {
    t = (await postgresAvailable()) ? await serverDb() : await embeddedDb();
    const parsed = parseTopology(topologyText, 'minimize.yaml', { schemas });
    if (!parsed.valid) throw new Error(JSON.stringify(parsed.errors));
    await registerAuthority(t.db, { entityType: 'customer', context: 'profile' }, t.schema);
    const shared = await open(streams.shared);
    const billingChannel = await open(streams.billing);
    router = createAudienceBackbone({
      shared,
      audiences: { billing: billingChannel, claims: await open(streams.claims) },
      topology: parsed.topology,
      schemas,
    });
    await spy(shared, spied.shared!);
    await spy(billingChannel, spied.billing!);
    billing = createConsumer({
      name: 'billing',
      db: t.db,
      backbone: router.for('billing'),
      schema: t.schema,
      retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 2 },
      receive: { schemas, fields: receiveFieldsOf(parsed.topology, 'billing') },
      handlers: {
        customer: {
          async apply(_tx, event) {
            seen.push(event);
          },
        },
      },
    });
    await billing.start();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(spies.map((s) => s.stop()));
    await billing?.stop();
    await router?.close();
    const nc = await connect({ servers: natsServers });
    const jsm = await jetstreamManager(nc);
    for (const { stream } of Object.values(streams)) {
      await jsm.streams.delete(stream).catch(() => {});
      await jsm.streams.delete(`KV_${stream}_leases`).catch(() => {});
    }
    await nc.close();
    await t?.cleanup();
  });

  it('billing’s stream, handler and dead letters hold only its allowed fields', async () => {
    expect(router.capabilities.transactionalPublish).toBe(false);
    const producer = createProducer({ context: 'profile', schema: t.schema });
    const payloads = fc.sample(payload, { numRuns: 60, seed: 4242 });
    for (const [i, data] of payloads.entries()) {
      await t.db.transaction((tx) =>
        producer.append(
          tx,
          { type: 'customer', id: `n-${i}` },
          { kind: 'domain', type, data },
          { schemaVersion: 1 },
        ),
      );
    }
    const relay = createRelay({ db: t.db, backbone: router, schema: t.schema });
    await expect
      .poll(async () => (await relay.drain(), spied.billing!.length), { timeout: 20_000, interval: 100 })
      .toBe(payloads.length);
    const deadLetters = async () =>
      (
        await t.db.query<{ event_id: string; envelope: Envelope }>(
          `SELECT event_id, envelope FROM "${t.schema}".dead_letters WHERE consumer = 'billing'`,
        )
      ).rows;
    // A batch with a failure is applied again event by event, so a handler may see an event twice.
    const finished = async () =>
      new Set([...seen.map((e) => e.id), ...(await deadLetters()).map((r) => r.event_id)]).size;
    await expect.poll(finished, { timeout: 20_000, interval: 100 }).toBe(payloads.length);

    for (const event of spied.billing!) {
      expect((event as unknown as Record<string, unknown>)[minimizedAttribute]).toBe('billing');
      expect(forbiddenIn('billing', event.data)).toEqual([]);
    }
    for (const event of seen) expect(forbiddenIn('billing', event.data)).toEqual([]);
    const letters = await deadLetters();
    for (const row of letters) expect(forbiddenIn('billing', row.envelope.data)).toEqual([]);
    // The shared stream got the same events whole, forbidden fields included.
    await expect.poll(() => spied.shared!.length, { timeout: 10_000 }).toBe(payloads.length);
    expect(spied.shared!.some((e) => forbiddenIn('billing', e.data).length > 0)).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
  }, 60_000);
});

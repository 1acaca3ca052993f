import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createServer, type ConsumerDiagnosis, type ControlPlane } from '../../src/server/index.js';
import { postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { asViewer, demoTopology, tokens } from './estate.js';

const serverUp = await postgresAvailable();
const authority = 'customer-profile';
const timing = { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 };

/**
 * Relays `rows` rows. The relay reads only below the oldest open transaction of the whole server,
 * and another suite's may be open a while: drain until they have all moved.
 */
async function relayAll(relay: Relay, rows: number): Promise<void> {
  let moved = 0;
  const deadline = Date.now() + 60_000;
  while (moved < rows) {
    if (Date.now() > deadline) throw new Error(`relayed ${moved} of ${rows} rows in 60 s`);
    moved += await relay.drain();
    if (moved < rows) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(moved).toBe(rows);
}

describe.skipIf(!serverUp)('GET /api/consumers/progress on server PostgreSQL', () => {
  let t: TestDb;
  let consumer: Consumer;
  let claims: Consumer | undefined;
  let log: Awaited<ReturnType<typeof createPostgresLog>>;
  let relay: Relay;
  let failing = true;
  /** Fed the running consumer: the detector's verdict and the failing retry. */
  let live: ControlPlane;
  /** Fed nothing but the database. */
  let stored: ControlPlane;

  beforeAll(async () => {
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    log = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2, timing });
    consumer = createConsumer({
      name: 'billing',
      db: t.db,
      schema: t.schema,
      backbone: log,
      // Retries that keep failing: the event is never finished, so nothing progresses.
      retry: { attempts: 1_000_000, baseDelayMs: 20, maxDelayMs: 40 },
      handlers: {
        customer: {
          apply: async () => {
            if (failing) throw new Error('billing database refuses the connection');
          },
        },
      },
    });
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id: 'c-1' },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
      ),
    );
    relay = createRelay({ db: t.db, backbone: log, schema: t.schema });
    await relayAll(relay, 1);
    const common = {
      db: t.db,
      schema: t.schema,
      topology: demoTopology(),
      tokens,
      consumers: [{ name: 'billing' }, { name: 'claims' }],
      stallAfterMs: 300,
      dashboardDir: false,
      lagSampleMs: 0,
    } as const;
    live = await createServer({ ...common, runningConsumers: [consumer] });
    stored = await createServer(common);
  });
  afterAll(async () => {
    failing = false;
    await consumer?.stop();
    await claims?.stop();
    await live?.close();
    await stored?.close();
    await t?.cleanup();
  });

  const diagnosis = async (server: ControlPlane, name: string): Promise<ConsumerDiagnosis> => {
    const response = await server.app.inject({
      method: 'GET',
      url: `/api/consumers/progress?consumer=${name}`,
      headers: asViewer,
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ consumers: ConsumerDiagnosis[] }>();
    expect(body.consumers.map((c) => c.consumer)).toEqual([name]);
    return body.consumers[0]!;
  };
  const billing = (server: ControlPlane) => diagnosis(server, 'billing');

  it('names the stalled consumer and its failing handler, then clears once the event is applied', async () => {
    // Given a consumer not started yet: its group has no offsets (lag unknown), nothing in hand
    const before = await billing(live);
    expect(before).toMatchObject({ source: 'running', stalled: false, lag: null, batchesInHand: 0 });
    expect(before.reasons).toEqual([]);

    // When it runs and every attempt fails
    await consumer.start();
    await expect.poll(async () => (await billing(live)).stalled, { timeout: 30_000 }).toBe(true);
    const stuck = await billing(live);
    expect(stuck.lag).toBe(1);
    expect(stuck.batchesInHand).toBe(1);
    expect(stuck.stalledSince).not.toBeNull();
    expect(Date.parse(stuck.stalledSince!)).toBeLessThanOrEqual(Date.now() - 300);
    expect(stuck.reasons[0]).toMatchObject({ kind: 'handler-failing' });
    expect(stuck.reasons[0]!.detail).toMatch(
      /^customer\/c-1@1 failed \d+ times?, last at .*: billing database refuses the connection$/,
    );
    expect(stuck.explanation).toContain('handler failing on customer/c-1@1');

    // And the database alone tells the same: work since the append, nothing applied since
    const fromDb = await billing(stored);
    expect(fromDb).toMatchObject({ source: 'database', stalled: true, lag: 1, liveInstances: 1 });
    expect(fromDb.explanation).toMatch(
      /^consumer 'billing' has had 1 event waiting since .* and applied none/,
    );

    // Then the dependency recovers: the event is applied and neither view reports a stall
    failing = false;
    await expect.poll(() => consumer.appliedVersion('customer', 'c-1'), { timeout: 30_000 }).toBe(1);
    await expect.poll(async () => (await billing(live)).stalled, { timeout: 30_000 }).toBe(false);
    expect((await billing(live)).reasons).toEqual([]);
    await expect.poll(async () => (await billing(stored)).lag, { timeout: 30_000 }).toBe(0);
    expect(await billing(stored)).toMatchObject({ stalled: false, stalledSince: null });

    // And once it stops with work waiting, the database says that no instance is running
    await consumer.stop();
    await t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id: 'c-1' },
        { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
        { expectedVersion: 1 },
      ),
    );
    await relayAll(relay, 1);
    await expect.poll(async () => (await billing(stored)).stalled, { timeout: 30_000 }).toBe(true);
    const stopped = await billing(stored);
    expect(stopped).toMatchObject({ lag: 1, liveInstances: 0 });
    expect(stopped.reasons).toEqual([
      { kind: 'not-running', detail: "1 event waiting and no instance of 'billing' has a heartbeat" },
    ]);
    expect(stopped.explanation).toContain("no instance of 'billing' has a heartbeat");
  }, 120_000);

  it('names the dead letter a key waits behind, with the later events parked behind it', async () => {
    // Given a consumer whose handler refuses customer c-2 at once (no retries)
    claims = createConsumer({
      name: 'claims',
      db: t.db,
      schema: t.schema,
      backbone: log,
      retry: { attempts: 1 },
      handlers: {
        customer: {
          apply: async (_tx, event) => {
            if (event.entityid === 'c-2') throw new Error('claims cannot match customer c-2 to a policy');
          },
        },
      },
    });
    const producer = createProducer({ context: authority, schema: t.schema });
    for (const expectedVersion of [0, 1]) {
      await t.db.transaction((tx) =>
        producer.append(
          tx,
          { type: 'customer', id: 'c-2' },
          { kind: 'domain', type: 'CustomerAddressChanged', data: {} },
          { expectedVersion },
        ),
      );
    }
    await relayAll(relay, 2);
    await claims.start();

    // When its first version is dead-lettered and the second parks behind it
    await expect
      .poll(async () => (await diagnosis(live, 'claims')).deadLetters, { timeout: 30_000 })
      .toEqual({ open: 1, parked: 1, parkedKeys: 1 });
    const parked = await diagnosis(live, 'claims');

    // Then the reason names the head and what waits behind it; parking is progress, not a stall
    expect(parked.stalled).toBe(false);
    expect(parked.reasons).toHaveLength(1);
    expect(parked.reasons[0]!.kind).toBe('dead-letter');
    expect(parked.reasons[0]!.detail).toMatch(
      /^dead letter #\d+ customer\/c-2@1: TM_HANDLER_FAILED: claims cannot match customer c-2 to a policy; 1 later event of the key parked behind it$/,
    );
  }, 60_000);

  it('answers an unknown consumer with a 404 problem naming the served ones', async () => {
    const response = await live.app.inject({
      method: 'GET',
      url: '/api/consumers/progress?consumer=nobody',
      headers: asViewer,
    });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ code: 'TM_UNKNOWN_CONSUMER' });
    expect(response.json<{ detail: string }>().detail).toContain('billing');
  });

  it('is listed in /openapi.json and refuses a caller without a token', async () => {
    const spec = (await live.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(spec.paths['/api/consumers/progress']).toBeDefined();
    const anonymous = await live.app.inject({ method: 'GET', url: '/api/consumers/progress' });
    expect(anonymous.statusCode).toBe(401);
  });
});

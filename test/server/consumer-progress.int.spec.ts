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

describe.skipIf(!serverUp)('GET /api/consumers/progress on server PostgreSQL', () => {
  let t: TestDb;
  let consumer: Consumer;
  let relay: Relay;
  let failing = true;
  /** Fed the running consumer: the detector's verdict and the failing retry. */
  let live: ControlPlane;
  /** Fed nothing but the database. */
  let stored: ControlPlane;

  beforeAll(async () => {
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    const log = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 2, timing });
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
    await relay.drain();
    const common = {
      db: t.db,
      schema: t.schema,
      topology: demoTopology(),
      tokens,
      consumers: [{ name: 'billing' }],
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
    await live?.close();
    await stored?.close();
    await t?.cleanup();
  });

  const billing = async (server: ControlPlane): Promise<ConsumerDiagnosis> => {
    const response = await server.app.inject({
      method: 'GET',
      url: '/api/consumers/progress?consumer=billing',
      headers: asViewer,
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ consumers: ConsumerDiagnosis[] }>();
    expect(body.consumers.map((c) => c.consumer)).toEqual(['billing']);
    return body.consumers[0]!;
  };

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
    expect(await relay.drain()).toBe(1);
    await expect.poll(async () => (await billing(stored)).stalled, { timeout: 30_000 }).toBe(true);
    const stopped = await billing(stored);
    expect(stopped).toMatchObject({ lag: 1, liveInstances: 0 });
    expect(stopped.reasons).toEqual([
      { kind: 'not-running', detail: "1 event waiting and no instance of 'billing' has a heartbeat" },
    ]);
    expect(stopped.explanation).toContain("no instance of 'billing' has a heartbeat");
  }, 120_000);

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

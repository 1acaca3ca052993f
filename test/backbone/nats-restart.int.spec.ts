import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { OwnNatsServer, natsServerInstalled } from '../support/nats-server.js';
import { waitUntil } from '../support/wait.js';
import { createNatsJetStream, type NatsJetStreamBackbone } from '../../src/backbone/nats-jetstream/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { sleep } from '../../src/util/wakeup.js';

const requireServices = process.env.REQUIRE_SERVICES === '1';
const installed = await natsServerInstalled();
if (!installed && requireServices)
  throw new Error('REQUIRE_SERVICES=1 but /usr/sbin/nats-server is not installed');
const available = installed && (await postgresAvailable());

const TOTAL = 3_000;
const KEYS = 60;

describe.runIf(available)('NATS server restarting mid-run (own nats-server, server PostgreSQL)', () => {
  let t: TestDb;
  const nats = new OwnNatsServer();
  let relayBackbone: NatsJetStreamBackbone;
  let consumerBackbone: NatsJetStreamBackbone;
  let relay: Relay;
  let consumer: Consumer;

  beforeAll(async () => {
    await nats.start();
    t = await serverDb();
    await registerAuthority(t.db, { entityType: 'account', context: 'ledger' }, t.schema);
    await t.db.query(`CREATE TABLE "${t.schema}".effects (
      seq bigserial PRIMARY KEY, entity_id text NOT NULL, version int NOT NULL, event_id uuid NOT NULL)`);
    const options = {
      servers: nats.url,
      stream: 'RESTART',
      subjectPrefix: 'restart',
      partitions: 6,
      pollMs: 200,
    };
    relayBackbone = await createNatsJetStream(options);
    consumerBackbone = await createNatsJetStream(options);
    relay = createRelay({ db: t.db, backbone: relayBackbone, schema: t.schema, pollMs: 20, batchSize: 100 });
    consumer = createConsumer({
      name: 'projector',
      db: t.db,
      backbone: consumerBackbone,
      schema: t.schema,
      retry: { attempts: 50, baseDelayMs: 20, maxDelayMs: 500 },
      handlers: {
        account: {
          async apply(tx, e) {
            await tx.query(
              `INSERT INTO "${t.schema}".effects (entity_id, version, event_id) VALUES ($1, $2, $3)`,
              [e.entityid, e.entityversion, e.id],
            );
          },
        },
      },
    });
  });
  afterAll(async () => {
    await consumer?.stop();
    await relay?.stop();
    await relayBackbone?.close().catch(() => {});
    await consumerBackbone?.close().catch(() => {});
    await nats.dispose();
    await t?.cleanup();
  });

  it('relay and consumer reconnect after the restart and continue without loss or double effects', async () => {
    const s = `"${t.schema}"`;
    relay.start();
    await consumer.start();
    const producer = createProducer({ context: 'ledger', schema: t.schema });
    let produced = 0;
    const produce = (async () => {
      while (produced < TOTAL) {
        await t.db.transaction((tx) =>
          producer.append(
            tx,
            { type: 'account', id: `a${produced % KEYS}` },
            { kind: 'domain', type: 'Posted' },
          ),
        );
        produced++;
        if (produced % 20 === 0) await sleep(5);
      }
    })();
    const applied = async () =>
      Number((await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM ${s}.effects`)).rows[0]!.n);
    await waitUntil(async () => (await applied()) > 500, true, 30_000, 'the first events to apply');

    await nats.stop();
    const whileDown = await applied();
    await sleep(1_500);
    await nats.start();
    await produce;
    await waitUntil(applied, TOTAL, 90_000, 'every event to apply after the restart');
    await sleep(300);

    const check = await t.db.query<{ n: number; events: number }>(
      `SELECT count(*) AS n, count(DISTINCT event_id) AS events FROM ${s}.effects`,
    );
    expect(check.rows[0]).toEqual({ n: TOTAL, events: TOTAL });
    const order = await t.db.query(`
      SELECT entity_id FROM (
        SELECT entity_id, version, row_number() OVER (PARTITION BY entity_id ORDER BY seq) AS expected
        FROM ${s}.effects) x WHERE version <> expected LIMIT 1`);
    expect(order.rows).toEqual([]);
    expect(whileDown).toBeLessThan(TOTAL);
  }, 150_000);
});

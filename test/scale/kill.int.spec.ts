import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, postgresUrl, serverDb, type TestDb } from '../support/services.js';
import { natsAvailable, natsServers, uniqueStream } from '../contract/backbone/nats-service.js';
import { startWorker, stopWorker, type Worker } from '../support/processes.js';
import type { WorkerConfig } from '../support/workers/config.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createNatsJetStream } from '../../src/backbone/nats-jetstream/index.js';
import { sleep } from '../../src/util/wakeup.js';

const KEYS = 500;
const VERSIONS_PER_KEY = 40;
const TOTAL = KEYS * VERSIONS_PER_KEY;
const PARTITIONS = 12;

const postgres = await postgresAvailable();
const nats = postgres && (await natsAvailable());

const backbones: { name: string; enabled: boolean; config: (schema: string) => WorkerConfig['backbone'] }[] =
  [
    {
      name: 'nats-jetstream',
      enabled: nats,
      config: () => ({
        kind: 'nats-jetstream',
        servers: natsServers,
        ...uniqueStream(),
        partitions: PARTITIONS,
      }),
    },
    {
      name: 'postgres-log',
      enabled: postgres,
      config: () => ({ kind: 'postgres-log', partitions: PARTITIONS }),
    },
  ];

describe.each(backbones.filter((b) => b.enabled))(
  'SIGKILL of a consumer and a relay mid-stream ($name, 3 consumer and 2 relay processes)',
  (backbone) => {
    let t: TestDb;
    let config: WorkerConfig;
    const workers: Worker[] = [];

    beforeAll(async () => {
      t = await serverDb({ max: 8 });
      await registerAuthority(t.db, { entityType: 'account', context: 'ledger' }, t.schema);
      await t.db.query(`CREATE TABLE "${t.schema}".effects (
        seq bigserial PRIMARY KEY, entity_id text NOT NULL, version int NOT NULL, event_id uuid NOT NULL,
        worker int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
      config = { postgres: postgresUrl, schema: t.schema, backbone: backbone.config(t.schema) };
    });
    afterAll(async () => {
      await Promise.all(workers.map(stopWorker));
      if (config.backbone.kind === 'nats-jetstream') {
        const created = await createNatsJetStream({ ...config.backbone, leaseTtlMs: 3_000 });
        await created.dangerous.destroy();
        await created.close();
      }
      await t.cleanup();
    });

    it('applies every event exactly once, never breaks per-key order, and the survivors take over', async () => {
      const s = `"${t.schema}"`;
      const relays = await Promise.all([
        startWorker('relay-worker.ts', config),
        startWorker('relay-worker.ts', config),
      ]);
      const consumers = await Promise.all([0, 1, 2].map(() => startWorker('consumer-worker.ts', config)));
      workers.push(...relays, ...consumers);
      const effectCount = async () =>
        Number((await t.db.query<{ n: number }>(`SELECT count(*) AS n FROM ${s}.effects`)).rows[0]!.n);

      // The three consumers settle on a split of the partitions.
      await expect
        .poll(() => consumers.map((c) => c.partitions.length).reduce((a, b) => a + b, 0), { timeout: 20_000 })
        .toBe(PARTITIONS);

      const producer = createProducer({ context: 'ledger', schema: t.schema });
      let produced = 0;
      const produce = (async () => {
        const versions = new Array<number>(KEYS).fill(0);
        while (produced < TOTAL) {
          await t.db.transaction(async (tx) => {
            for (let i = 0; i < 50 && produced < TOTAL; i++) {
              let key = Math.floor(Math.random() * KEYS);
              while (versions[key] === VERSIONS_PER_KEY) key = (key + 1) % KEYS;
              versions[key]!++;
              produced++;
              await producer.append(
                tx,
                { type: 'account', id: `acc-${key}` },
                { kind: 'domain', type: 'Posted' },
              );
            }
          });
          await sleep(2);
        }
      })();

      await expect.poll(effectCount, { timeout: 60_000, interval: 100 }).toBeGreaterThan(TOTAL / 5);
      // Kill the relay holding the cursor and the consumer holding the most partitions, mid-batch.
      const owner = (
        await t.db.query<{ owner: string }>(
          `SELECT owner FROM ${s}.relay_checkpoints WHERE relay = 'default'`,
        )
      ).rows[0]!.owner;
      const activeRelay = relays.find((r) => owner.includes(`-${r.pid}-`))!;
      expect(activeRelay).toBeDefined();
      const victim = [...consumers].sort((a, b) => b.partitions.length - a.partitions.length)[0]!;
      const victimPartitions = [...victim.partitions];
      expect(victimPartitions.length).toBeGreaterThan(0);
      activeRelay.child.kill('SIGKILL');
      victim.child.kill('SIGKILL');
      await Promise.all([activeRelay.exited, victim.exited]);
      const killedAt = (await t.db.query<{ now: Date }>(`SELECT clock_timestamp() AS now`)).rows[0]!.now;
      const appliedAtKill = await effectCount();
      expect(appliedAtKill).toBeLessThan(TOTAL);

      await produce;
      await expect.poll(effectCount, { timeout: 120_000, interval: 250 }).toBe(TOTAL);
      await sleep(500);
      expect(await effectCount()).toBe(TOTAL);

      const once = await t.db.query<{ n: number; events: number; versions: number }>(
        `SELECT count(*) AS n, count(DISTINCT event_id) AS events, count(DISTINCT (entity_id, version)) AS versions
         FROM ${s}.effects`,
      );
      expect(once.rows[0]).toEqual({ n: TOTAL, events: TOTAL, versions: TOTAL });
      const order = await t.db.query(`
        SELECT entity_id, version, expected FROM (
          SELECT entity_id, version, row_number() OVER (PARTITION BY entity_id ORDER BY seq) AS expected
          FROM ${s}.effects) x
        WHERE version <> expected LIMIT 5`);
      expect(order.rows).toEqual([]);

      const afterKill = await t.db.query<{ worker: number; n: number }>(
        `SELECT worker, count(*) AS n FROM ${s}.effects WHERE at > $1 GROUP BY worker ORDER BY worker`,
        [killedAt],
      );
      const survivors = consumers.filter((c) => c !== victim).map((c) => c.pid);
      expect(afterKill.rows.map((r) => Number(r.worker)).every((w) => survivors.includes(w))).toBe(true);
      const survivorPartitions = new Set(consumers.filter((c) => c !== victim).flatMap((c) => c.partitions));
      expect(victimPartitions.every((p) => survivorPartitions.has(p))).toBe(true);
      expect(survivorPartitions.size).toBe(PARTITIONS);
      console.info(
        `${backbone.name}: ${TOTAL} events; killed relay ${activeRelay.pid} and consumer ${victim.pid} ` +
          `(partitions ${victimPartitions.join(',')}) at ${appliedAtKill} applied; survivors applied ` +
          `${afterKill.rows.map((r) => `${r.worker}:${r.n}`).join(', ')} after the kill`,
      );
    }, 240_000);
  },
);

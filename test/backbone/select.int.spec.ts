import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Backbone } from '../../src/backbone/backbone.js';
import { openBackbone } from '../../src/backbone/select.js';
import { createRecorder, workload } from '../../src/testing/backbone-workload.js';
import { parseTopology } from '../../src/topology/index.js';
import { natsAvailable, natsServers } from '../contract/backbone/nats-service.js';
import { rabbitAvailable, rabbitUrl } from '../contract/backbone/rabbitmq-service.js';
import { redisAvailable, redisUrl } from '../contract/backbone/redis-service.js';
import { serverDb, postgresAvailable, type TestDb } from '../support/services.js';

/*
 * From a topology file to a working backbone: the setting's kind, name, partitions and a
 * ${VARIABLE} url reach the adapter, and events travel per key in order. The adapters' own
 * guarantees are the contract suite's business; this checks the mapping.
 */

const brokers = [
  {
    kind: 'nats-jetstream',
    url: natsServers.includes('://') ? natsServers : `nats://${natsServers}`,
    available: await natsAvailable(),
  },
  { kind: 'rabbitmq', url: rabbitUrl, available: await rabbitAvailable() },
  { kind: 'redis-streams', url: redisUrl, available: await redisAvailable() },
] as const;
const postgres = await postgresAvailable();

const topologyWith = (backbone: string[]) =>
  [
    'contexts:',
    '  - name: profile',
    'entityTypes:',
    '  - name: item',
    '    authority: profile',
    'backbone:',
    ...backbone.map((line) => `  ${line}`),
    '',
  ].join('\n');

const opened: { backbone: Backbone; cleanup: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const { backbone, cleanup } of opened.splice(0)) {
    await cleanup();
    await backbone.close();
  }
});

/** Publishes 3 keys × 4 versions and waits until the group has them all; returns what it saw. */
async function roundTrip(backbone: Backbone, group: string) {
  const recorder = createRecorder();
  const subscription = await backbone.subscribe(group, recorder.handler('one'));
  const rounds = workload(3, 4);
  for (const round of rounds) await backbone.publish(round);
  await expect.poll(() => recorder.distinctIds().size, { timeout: 20_000, interval: 100 }).toBe(12);
  await subscription.stop();
  const versionsOf = (key: string) =>
    recorder
      .envelopes()
      .filter((e) => e.entityid === key)
      .map((e) => e.entityversion);
  return { k0: versionsOf('k0'), k1: versionsOf('k1'), k2: versionsOf('k2') };
}

describe('openBackbone from a topology file', () => {
  for (const broker of brokers) {
    it.runIf(broker.available)(
      `${broker.kind}: kind, name, partitions and a \${VARIABLE} url reach the adapter`,
      async () => {
        const name = `tmsel-${randomUUID().slice(0, 8)}`;
        const result = parseTopology(
          topologyWith([`kind: ${broker.kind}`, 'url: ${TM_SELECT_URL}', `name: ${name}`, 'partitions: 3']),
        );
        if (!result.valid) throw new Error(JSON.stringify(result.errors));
        const backbone = await openBackbone(result.topology.backbone, {
          env: { TM_SELECT_URL: broker.url },
          groups: ['readers'],
          timing: { heartbeatMs: 200, memberTtlMs: 1_200, pollMs: 100 },
        });
        const adapter = backbone as Backbone & {
          dangerous: { destroy(groups?: string[]): Promise<void> };
          config: { stream?: string; prefix?: string; heartbeatMs: number };
        };
        opened.push({ backbone, cleanup: () => adapter.dangerous.destroy(['readers']) });

        expect(backbone.name).toBe(broker.kind);
        expect(backbone.partitions).toBe(3);
        expect(adapter.config.stream ?? adapter.config.prefix).toBe(name);
        expect(adapter.config.heartbeatMs).toBe(200);
        const seen = await roundTrip(backbone, 'readers');
        // Redelivery may repeat a version; order per key may not go backwards.
        for (const versions of Object.values(seen)) {
          expect([...new Set(versions)]).toEqual([1, 2, 3, 4]);
          expect(versions).toEqual([...versions].sort((a, b) => a - b));
        }
      },
      40_000,
    );
  }

  it.runIf(postgres)('postgres-log: the log lands in the given schema of the given database', async () => {
    const result = parseTopology(topologyWith(['kind: postgres-log', 'partitions: 3']));
    if (!result.valid) throw new Error(JSON.stringify(result.errors));
    const test: TestDb = await serverDb();
    try {
      const backbone = await openBackbone(result.topology.backbone, {
        db: test.db,
        schema: test.schema,
        timing: { heartbeatMs: 200, pollMs: 50 },
      });
      opened.push({ backbone, cleanup: async () => {} });
      expect(backbone.name).toBe('postgres-log');
      expect(backbone.partitions).toBe(3);
      await roundTrip(backbone, 'readers');
      const rows = await test.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${test.schema}".log`);
      expect(rows.rows[0]!.n).toBe(12);
      await opened.pop()!.backbone.close();
    } finally {
      await test.cleanup();
    }
  });
});

import { randomUUID } from 'node:crypto';
import type { Sql } from '../../src/store/db.js';
import { businessUpdate, effectInsert, projectionUpsert, type Contender } from './contender.js';
import { loadPeer } from './peers.js';

/** The structural subset of pg-boss 10 this harness uses. */
interface Job {
  data: { eventId: string; key: string; payload: string };
}
interface Boss {
  start(): Promise<unknown>;
  createQueue(name: string): Promise<void>;
  send(
    name: string,
    data: object,
    options: { db: { executeSql(text: string, values: unknown[]): Promise<{ rows: unknown[] }> } },
  ): Promise<string | null>;
  work(
    name: string,
    options: { batchSize: number; pollingIntervalSeconds: number },
    handler: (jobs: Job[]) => Promise<void>,
  ): Promise<string>;
  stop(options: { graceful: boolean; wait: boolean; timeout?: number }): Promise<void>;
  on(event: 'error', listener: (error: unknown) => void): void;
}
type BossConstructor = new (options: {
  connectionString: string;
  schema: string;
  max: number;
  application_name: string;
  supervise?: boolean;
  schedule?: boolean;
}) => Boss;

/** Batch size and workers: pg-boss waits its polling interval (at least 0.5 s) between fetches. */
const BATCH = 200;
const WORKERS = 2;
const QUEUE = 'bench-events';

/**
 * pg-boss as the transport: the job is sent inside the business transaction through pg-boss's
 * `db` option (its way of joining a caller's transaction), and a worker applies each batch to
 * the projection in one transaction. pg-boss completes the jobs after the handler resolves, in
 * a separate statement: delivery is at-least-once and per-key order is not kept.
 */
export const pgBossContender: Contender = {
  key: 'pg-boss',
  label: 'pg-boss 10 (queue as transport)',
  async start(env) {
    const PgBoss = loadPeer<BossConstructor>('pg-boss');
    const bossSchema = `${env.schema}_boss`;
    const boss = new PgBoss({
      connectionString: env.connectionString,
      schema: bossSchema,
      max: 4,
      application_name: 'tidemark-bench-pgboss',
      supervise: false,
      schedule: false,
    });
    let failure: unknown;
    boss.on('error', (error) => {
      failure ??= error;
    });
    await boss.start();
    await boss.createQueue(QUEUE);
    const producerDb = await env.connect(env.clients, 'pgboss-producer');
    const workerDb = await env.connect(WORKERS, 'pgboss-worker');
    const update = businessUpdate(env.schema);
    const upsert = projectionUpsert(env.schema);
    const effect = effectInsert(env.schema);
    const asBossDb = (tx: Sql) => ({
      executeSql: async (text: string, values: unknown[]) => ({ rows: (await tx.query(text, values)).rows }),
    });
    for (let i = 0; i < WORKERS; i++) {
      await boss.work(QUEUE, { batchSize: BATCH, pollingIntervalSeconds: 0.5 }, (jobs) =>
        workerDb.transaction(async (tx) => {
          for (const { data } of jobs) {
            await tx.query(upsert, [data.eventId, data.key, data.payload]);
            await tx.query(effect, [data.eventId, data.key]);
          }
        }),
      );
    }
    return {
      async transact(key, payload) {
        if (failure) throw failure;
        const eventId = randomUUID();
        await producerDb.transaction(async (tx) => {
          await tx.query(update, [key, payload]);
          await boss.send(QUEUE, { eventId, key, payload }, { db: asBossDb(tx) });
        });
        return eventId;
      },
      async stop() {
        await boss.stop({ graceful: true, wait: true, timeout: 5_000 });
        await producerDb.close();
        await workerDb.close();
        await env.admin.query(`DROP SCHEMA IF EXISTS "${bossSchema}" CASCADE`);
        if (failure) throw failure;
      },
    };
  },
};

import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Backbone } from '../../src/backbone/backbone.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createNatsJetStream, type NatsJetStreamBackbone } from '../../src/backbone/nats-jetstream/index.js';
import type { Db } from '../../src/store/db.js';

export type BackboneKey = 'postgres-log' | 'nats-jetstream';

/**
 * One backbone for one measurement: every component opens its own instance (as separate
 * processes would), all on the same log — the schema's log table, or a stream unique to it.
 */
export interface BackboneUnderTest {
  /** A new instance; `db` is the caller's pool (postgres-log keeps its log there). */
  open(db: Db): Promise<Backbone>;
  /** Events stored in the log, counted by the backbone's store rather than taken from the relay. */
  count(db: Db): Promise<number>;
  /** Closes every opened instance and deletes the NATS stream; the schema is dropped by its owner. */
  dispose(): Promise<void>;
}

export interface BackboneKind {
  readonly key: BackboneKey;
  create(schema: string, partitions: number): BackboneUnderTest;
}

export const natsServers =
  process.env.TIDEMARK_BENCH_NATS ?? process.env.TIDEMARK_TEST_NATS ?? '127.0.0.1:4222';

const postgresLog: BackboneKind = {
  key: 'postgres-log',
  create(schema, partitions) {
    return {
      open: (db) => createPostgresLog({ db, schema, partitions }),
      async count(db) {
        const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".log`);
        return Number(r.rows[0]?.n ?? 0);
      },
      dispose: async () => {},
    };
  },
};

const natsJetStream: BackboneKind = {
  key: 'nats-jetstream',
  create(_schema, partitions) {
    const tag = randomUUID().replaceAll('-', '').slice(0, 8);
    const options = {
      servers: natsServers,
      stream: `BENCH_${tag}`,
      subjectPrefix: `bench.${tag}`,
      partitions,
      // Members of a group share partitions sooner than with the 10 s default.
      leaseTtlMs: 3_000,
      heartbeatMs: 500,
      connectionName: 'tidemark-bench',
    };
    const opened: NatsJetStreamBackbone[] = [];
    return {
      async open() {
        const backbone = await createNatsJetStream(options);
        opened.push(backbone);
        return backbone;
      },
      async count() {
        const nc = await connect({ servers: natsServers, name: 'tidemark-bench-count' });
        try {
          const jsm = await jetstreamManager(nc);
          return (await jsm.streams.info(options.stream)).state.messages;
        } finally {
          await nc.close();
        }
      },
      async dispose() {
        for (const b of opened) await b.close().catch(() => {});
        // Components close their backbone when they stop: a fresh instance deletes the stream.
        const admin = await createNatsJetStream(options);
        await admin.dangerous.destroy();
        await admin.close();
      },
    };
  },
};

export const backboneKinds: readonly BackboneKind[] = [postgresLog, natsJetStream];

import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createNatsJetStream, type NatsJetStreamBackbone } from '../../src/backbone/nats-jetstream/index.js';
import { createRabbitMq, type RabbitMqBackbone } from '../../src/backbone/rabbitmq/index.js';
import { createRedisStreams, type RedisStreamsBackbone } from '../../src/backbone/redis-streams/index.js';
import type { Db } from '../../src/store/db.js';
import type { BackboneSource } from '../lib/latency.js';

export type BackboneKey = 'postgres-log' | 'nats-jetstream' | 'rabbitmq' | 'redis-streams';

/**
 * One backbone for one measurement: every component opens its own instance (as separate
 * processes would), all on the same log — the schema's log table, or a stream unique to it.
 */
export interface BackboneUnderTest extends BackboneSource {
  /**
   * Events stored in the log, counted by the backbone's store rather than taken from the relay
   * (RabbitMQ keeps no log: the messages waiting in the first group's queues).
   */
  count(db: Db): Promise<number>;
}

export interface BackboneKind {
  readonly key: BackboneKey;
  /**
   * `groups`: the consumer groups the measurement will subscribe. RabbitMQ declares their queues
   * before anything is published (a group only receives what arrives after its queues exist).
   */
  create(schema: string, partitions: number, groups: readonly string[]): BackboneUnderTest;
}

export const natsServers =
  process.env.TIDEMARK_BENCH_NATS ?? process.env.TIDEMARK_TEST_NATS ?? '127.0.0.1:4222';
export const rabbitUrl =
  process.env.TIDEMARK_BENCH_RABBITMQ ??
  process.env.TIDEMARK_TEST_RABBITMQ ??
  'amqp://guest:guest@127.0.0.1:5672';
export const redisUrl =
  process.env.TIDEMARK_BENCH_REDIS ?? process.env.TIDEMARK_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
/** For progress lines and the method text: where each broker was. */
export const brokerAddresses = `NATS at ${natsServers}, RabbitMQ at ${rabbitUrl.replace(/:[^:@/]*@/, ':***@')}, Redis at ${redisUrl}`;

/** Stream, exchange and key names unique to one measurement. */
const uniqueTag = () => randomUUID().replaceAll('-', '').slice(0, 8);

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
    const tag = uniqueTag();
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

const rabbitMq: BackboneKind = {
  key: 'rabbitmq',
  create(_schema, partitions, groups) {
    const options = {
      url: rabbitUrl,
      prefix: `bench.${uniqueTag()}`,
      partitions,
      groups,
      // Members of a group share partitions sooner than with the defaults, as for NATS.
      memberTtlMs: 3_000,
      heartbeatMs: 500,
    };
    const opened: RabbitMqBackbone[] = [];
    return {
      async open() {
        const backbone = await createRabbitMq(options);
        opened.push(backbone);
        return backbone;
      },
      async count() {
        const group = groups[0];
        if (group === undefined) throw new Error('rabbitmq counts what reached the first group: declare one');
        const connection = await amqp.connect(rabbitUrl);
        try {
          const channel = await connection.createChannel();
          let total = 0;
          for (let p = 0; p < partitions; p++) {
            total += (await channel.checkQueue(`${options.prefix}.${group}.p${p}`)).messageCount;
          }
          return total;
        } finally {
          await connection.close();
        }
      },
      async dispose() {
        for (const b of opened) await b.close().catch(() => {});
        const admin = await createRabbitMq({ ...options, groups: [] });
        await admin.dangerous.destroy(groups);
        await admin.close();
      },
    };
  },
};

const redisStreams: BackboneKind = {
  key: 'redis-streams',
  create(_schema, partitions) {
    const options = {
      url: redisUrl,
      prefix: `bench:${uniqueTag()}`,
      partitions,
      leaseTtlMs: 3_000,
      heartbeatMs: 500,
    };
    const opened: RedisStreamsBackbone[] = [];
    return {
      async open() {
        const backbone = await createRedisStreams(options);
        opened.push(backbone);
        return backbone;
      },
      async count() {
        const redis = new Redis(redisUrl);
        try {
          let total = 0;
          for (let p = 0; p < partitions; p++) total += await redis.xlen(`{${options.prefix}}:p${p}`);
          return total;
        } finally {
          redis.disconnect();
        }
      },
      async dispose() {
        for (const b of opened) await b.close().catch(() => {});
        const admin = await createRedisStreams(options);
        await admin.dangerous.destroy();
        await admin.close();
      },
    };
  },
};

export const backboneKinds: readonly BackboneKind[] = [postgresLog, natsJetStream, rabbitMq, redisStreams];

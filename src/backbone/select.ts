import { TidemarkError } from '../errors.js';
import type { Db } from '../store/db.js';
import type { BackboneSetting } from '../topology/backbone.js';
import { backboneKinds, environmentReference } from '../topology/backbone.js';
import { didYouMean } from '../topology/suggest.js';
import type { Backbone } from './backbone.js';

/*
 * Turns a topology's `backbone` setting into an adapter instance. Broker adapters are imported
 * here only when chosen, so an application on postgres-log never loads amqplib, ioredis or the
 * NATS client, and the core modules never import an adapter at all.
 */

/** Lease and polling timings, mapped onto each adapter's own option names. */
export interface BackboneTiming {
  /** How often members renew leases and rebalance. */
  readonly heartbeatMs?: number;
  /** A member's partitions move this long after its last heartbeat (lease / member TTL). */
  readonly memberTtlMs?: number;
  /** How long an idle partition waits before asking again (not used by RabbitMQ, which pushes). */
  readonly pollMs?: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

export interface BackboneRuntime {
  /** postgres-log: the outbox's database, where the log lives. Required for postgres-log. */
  readonly db?: Db;
  /** postgres-log: the schema of the outbox and log (default `tidemark`). */
  readonly schema?: string;
  /**
   * Consumer groups that will subscribe. RabbitMQ declares their queues at start-up (a group
   * only receives what is published after its queues exist); the others ignore it.
   */
  readonly groups?: readonly string[];
  readonly timing?: BackboneTiming;
  /** Where `${VARIABLE}` urls are read (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Delete the named stream, queues or keys before opening, so the backbone starts empty. For
   * demos and tests that own the name; never for a shared deployment.
   */
  readonly startEmpty?: boolean;
}

/** The url of a setting, with a `${VARIABLE}` read from the environment. */
export function resolveBackboneUrl(
  setting: BackboneSetting,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const url = setting.url;
  if (url === undefined) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `backbone '${setting.kind}' needs url (the broker's address): add it to the backbone setting`,
      { context: { kind: setting.kind } },
    );
  }
  const reference = environmentReference.exec(url);
  if (!reference) return url;
  const variable = reference[1]!;
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `backbone '${setting.kind}' reads its url from the environment variable ${variable}, which is not set: ` +
        `export ${variable}=<the broker's address> before starting`,
      { context: { kind: setting.kind, variable } },
    );
  }
  return value;
}

/**
 * Opens the backbone a topology names. Every adapter checks its server at start-up: an
 * unreachable broker or refused credentials fail here, naming the address and the fix.
 */
export async function openBackbone(
  setting: BackboneSetting,
  runtime: BackboneRuntime = {},
): Promise<Backbone> {
  const t = runtime.timing ?? {};
  const retry = {
    ...(t.retryBaseMs === undefined ? {} : { retryBaseMs: t.retryBaseMs }),
    ...(t.retryMaxMs === undefined ? {} : { retryMaxMs: t.retryMaxMs }),
  };
  const beat = t.heartbeatMs === undefined ? {} : { heartbeatMs: t.heartbeatMs };
  const poll = t.pollMs === undefined ? {} : { pollMs: t.pollMs };
  const partitions = setting.partitions === undefined ? {} : { partitions: setting.partitions };

  switch (setting.kind) {
    case 'postgres-log': {
      if (!runtime.db) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          "backbone 'postgres-log' keeps its log in the outbox's database: pass db (and schema) when opening it",
        );
      }
      const { createPostgresLog } = await import('./postgres-log/index.js');
      // The log table belongs to the schema's migrations; starting empty is the schema owner's job.
      return createPostgresLog({
        db: runtime.db,
        ...(runtime.schema === undefined ? {} : { schema: runtime.schema }),
        ...partitions,
        timing: {
          ...beat,
          ...poll,
          ...retry,
          ...(t.memberTtlMs === undefined ? {} : { leaseMs: t.memberTtlMs }),
        },
      });
    }
    case 'nats-jetstream': {
      const { createNatsJetStream } = await import('./nats-jetstream/index.js');
      const options = {
        servers: resolveBackboneUrl(setting, runtime.env),
        stream: setting.name,
        subjectPrefix: setting.name,
        ...partitions,
        ...beat,
        ...poll,
        ...retry,
        ...(t.memberTtlMs === undefined ? {} : { leaseTtlMs: t.memberTtlMs }),
      };
      if (runtime.startEmpty) {
        const old = await createNatsJetStream(options);
        await old.dangerous.destroy();
        await old.close();
      }
      return createNatsJetStream(options);
    }
    case 'rabbitmq': {
      const { createRabbitMq } = await import('./rabbitmq/index.js');
      const groups = [...(runtime.groups ?? [])];
      const options = {
        url: resolveBackboneUrl(setting, runtime.env),
        prefix: setting.name,
        groups,
        ...partitions,
        ...beat,
        ...retry,
        ...(t.memberTtlMs === undefined ? {} : { memberTtlMs: t.memberTtlMs }),
      };
      if (runtime.startEmpty) {
        const old = await createRabbitMq({ ...options, groups: [] });
        await old.dangerous.destroy(groups);
        await old.close();
      }
      return createRabbitMq(options);
    }
    case 'redis-streams': {
      const { createRedisStreams } = await import('./redis-streams/index.js');
      const options = {
        url: resolveBackboneUrl(setting, runtime.env),
        prefix: setting.name,
        ...partitions,
        ...beat,
        ...poll,
        ...retry,
        ...(t.memberTtlMs === undefined ? {} : { leaseTtlMs: t.memberTtlMs }),
      };
      if (runtime.startEmpty) {
        const old = await createRedisStreams(options);
        await old.dangerous.destroy();
        await old.close();
      }
      return createRedisStreams(options);
    }
    default: {
      const kind = (setting as { kind: unknown }).kind;
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `unknown backbone kind '${String(kind)}'; use one of ${backboneKinds.join(', ')}${didYouMean(String(kind), backboneKinds)}`,
      );
    }
  }
}

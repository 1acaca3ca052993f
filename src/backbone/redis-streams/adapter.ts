import type { Backbone, BatchHandler, SubscribeOptions, Subscription } from '../backbone.js';
import { TidemarkError } from '../../errors.js';
import { openPool } from './connect.js';
import { joinGroup } from './group.js';
import {
  checkGroup,
  naming,
  resolveOptions,
  type Naming,
  type RedisStreamsConfig,
  type RedisStreamsOptions,
} from './options.js';
import { createPublisher } from './publish.js';
import { adapterLifecycle } from '../shared/lifecycle.js';
import { groupJoinFailure } from '../shared/membership.js';
import type { Redis } from 'ioredis';

export interface RedisStreamsBackbone extends Backbone {
  readonly config: RedisStreamsConfig;
  /** Operations that destroy data or simulate faults; for tests and decommissioning only. */
  readonly dangerous: {
    /** Stops every subscription, then deletes every key under `{<prefix>}:`. */
    destroy(): Promise<void>;
    /** Drops every connection without a goodbye, as a crashed process would. */
    sever(): void;
  };
}

/** The partition count is stored once; another count would send keys to other streams. */
async function checkLayout(redis: Redis, config: RedisStreamsConfig, names: Naming): Promise<void> {
  await redis.set(names.layout, String(config.partitions), 'NX');
  const stored = Number(await redis.get(names.layout));
  if (stored !== config.partitions) {
    throw new TidemarkError(
      'TM_STREAM_MISMATCH',
      `Redis streams of prefix '${config.prefix}' were created with ${stored} partitions, but partitions is ` +
        `${config.partitions}. Configure partitions: ${stored}, or choose another prefix; Tidemark never ` +
        're-partitions live streams (keys would move to other streams and lose their order)',
      { context: { prefix: config.prefix, existing: stored, configured: config.partitions } },
    );
  }
}

/**
 * A backbone on Redis Streams (6.2 or newer): one stream per partition `{<prefix>}:p<n>`, one
 * Redis consumer group per Tidemark group on each, partition leases so a partition is read by
 * one member at a time, XACK after the handler resolves, and XAUTOCLAIM of a dead member's
 * pending entries by the next holder. Publishing deduplicates event ids within a window.
 *
 * Durability is the server's: Redis acknowledges a write before it reaches the disk, if it ever
 * does. Run it with `appendonly yes` and `appendfsync always` for no loss (`everysec` loses up
 * to a second), and `maxmemory-policy noeviction` so streams are never evicted.
 *
 * @example
 * const backbone = await createRedisStreams({ url: 'redis://127.0.0.1:6379/0', prefix: 'tidemark' });
 */
export async function createRedisStreams(options: RedisStreamsOptions): Promise<RedisStreamsBackbone> {
  const config = resolveOptions(options);
  const names = naming(config);
  const pool = await openPool(config, options.connection);
  try {
    await checkLayout(pool.main, config, names);
  } catch (error) {
    await pool.close();
    throw error;
  }
  const lifecycle = adapterLifecycle('redis-streams', config.prefix);

  return {
    name: 'redis-streams',
    capabilities: {
      // Persistent only as far as the server is configured to be (see the docs).
      persistent: true,
      consumerGroups: true,
      idempotentPublish: true,
      transactionalPublish: false,
    },
    partitions: config.partitions,
    config,
    publish: lifecycle.publisher(createPublisher(pool.main, config, names)),
    async subscribe(group: string, handler: BatchHandler, subscribeOptions: SubscribeOptions = {}) {
      lifecycle.ensureOpen('subscribe');
      checkGroup(group);
      let subscription: Subscription;
      try {
        subscription = await joinGroup({
          pool,
          config,
          names,
          group,
          handler,
          options: subscribeOptions,
          onStop: () => lifecycle.forget(subscription),
        });
      } catch (cause) {
        throw groupJoinFailure(
          group,
          `Redis at ${config.address}`,
          'check the server',
          { prefix: config.prefix },
          cause,
        );
      }
      lifecycle.track(subscription);
      return subscription;
    },
    close: () => lifecycle.close(() => pool.close()),
    dangerous: {
      async destroy() {
        await lifecycle.stopAll();
        let cursor = '0';
        do {
          const [next, keys] = await pool.main.scan(cursor, 'MATCH', `{${config.prefix}}:*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await pool.main.del(...keys);
        } while (cursor !== '0');
      },
      sever: () => pool.sever(),
    },
  };
}

import { Redis } from 'ioredis';
import { TidemarkError } from '../../errors.js';
import type { RedisStreamsConfig } from './options.js';

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

function startupError(config: RedisStreamsConfig, cause: unknown): TidemarkError {
  if (/WRONGPASS|NOAUTH|NOPERM|invalid password/i.test(reason(cause))) {
    return new TidemarkError(
      'TM_BACKBONE_ACCESS_DENIED',
      `Redis at ${config.address} refused access (${reason(cause)}); check the user and password in the ` +
        `redis-streams option "url" and that the user's ACL allows stream, string and sorted-set commands and EVAL ` +
        `on keys "{${config.prefix}}:*"`,
      { cause, context: { address: config.address, prefix: config.prefix } },
    );
  }
  return new TidemarkError(
    'TM_SERVICE_UNREACHABLE',
    `Redis is unreachable at ${config.address} (${reason(cause)}); check that redis-server (6.2 or newer) is ` +
      'running and that the redis-streams option "url" points to it',
    { cause, context: { address: config.address, prefix: config.prefix } },
  );
}

/** The connections of one backbone instance: one shared, plus one per blocking reader. */
export interface RedisPool {
  readonly main: Redis;
  /** A connection of its own for blocking reads (XREADGROUP BLOCK would stall every other command). */
  open(): Promise<Redis>;
  release(connection: Redis): void;
  /** Drops every connection at once without a goodbye, as a crashed process would. */
  sever(): void;
  close(): Promise<void>;
}

export async function openPool(config: RedisStreamsConfig, given: Redis | undefined): Promise<RedisPool> {
  const all = new Set<Redis>();
  const create = () => {
    const connection = given
      ? given.duplicate({ lazyConnect: true })
      : new Redis(config.url!, {
          lazyConnect: true,
          connectTimeout: config.connectTimeoutMs,
          maxRetriesPerRequest: 2,
          // Once running, ride out restarts: leases lapse and workers retry on their own.
          retryStrategy: (times) => Math.min(times * 100, 2_000),
        });
    connection.on('error', () => {});
    all.add(connection);
    return connection;
  };
  const main = create();
  // A refused AUTH arrives as an 'error' event; connect() then only says the connection closed.
  let refusal: unknown;
  const noteRefusal = (error: unknown) => (refusal ??= error);
  main.on('error', noteRefusal);
  try {
    await main.connect();
    await main.ping();
  } catch (cause) {
    main.disconnect();
    throw startupError(config, /WRONGPASS|NOAUTH|NOPERM/.test(String(refusal)) ? refusal : cause);
  }
  main.off('error', noteRefusal);
  return {
    main,
    async open() {
      const connection = create();
      await connection.connect();
      return connection;
    },
    release(connection) {
      all.delete(connection);
      connection.disconnect();
    },
    sever() {
      for (const connection of all) connection.disconnect(false);
    },
    async close() {
      await Promise.all([...all].map((c) => c.quit().catch(() => c.disconnect())));
      all.clear();
    },
  };
}

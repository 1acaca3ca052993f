import type { Redis } from 'ioredis';
import { checkGroupName, optionChecks, redactUrl, urlProtocol } from '../shared/options.js';

export interface RedisStreamsOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379/0`. Required unless `connection` is given. */
  readonly url?: string;
  /** A connection to duplicate instead of opening from `url`; the caller keeps it open. */
  readonly connection?: Redis;
  /** Key prefix (letters, digits, `_`, `-`, `.`, `:`); streams are `{<prefix>}:p<n>`. */
  readonly prefix: string;
  /** Partition count; every instance of a deployment must agree (default 16). */
  readonly partitions?: number;
  /**
   * Trimming: keep about this many entries per partition stream (`XADD MAXLEN ~`). Default:
   * no trimming. Trimming never waits for consumer groups: an entry a slow group has not read
   * yet can be trimmed away, so size it well above the largest expected lag.
   */
  readonly maxLengthPerPartition?: number;
  /** A re-published event id is dropped within this window (default 2 min). */
  readonly duplicateWindowMs?: number;
  /** A member's partition leases and membership expire this long after its last heartbeat (default 10 s). */
  readonly leaseTtlMs?: number;
  /** How often members renew leases and rebalance (default a third of `leaseTtlMs`). */
  readonly heartbeatMs?: number;
  /** How long an idle partition blocks on the server waiting for entries (default 1 s). */
  readonly pollMs?: number;
  /** Backoff after a rejected batch (defaults 100 ms, capped at 10 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Connect timeout (default 5 s). */
  readonly connectTimeoutMs?: number;
}

export interface RedisStreamsConfig {
  readonly url: string | undefined;
  /** `url` without the password. */
  readonly address: string;
  readonly prefix: string;
  readonly partitions: number;
  readonly maxLengthPerPartition: number | undefined;
  readonly duplicateWindowMs: number;
  readonly leaseTtlMs: number;
  readonly heartbeatMs: number;
  readonly pollMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly connectTimeoutMs: number;
}

const prefixPattern = /^[A-Za-z0-9_.:-]{1,100}$/;
const { invalid, integer, heartbeat } = optionChecks('redis-streams');

export function checkGroup(group: string): void {
  checkGroupName(group, 'a Redis consumer group');
}

/** Applies defaults and checks every option once; the result is frozen. */
export function resolveOptions(options: RedisStreamsOptions): RedisStreamsConfig {
  if (!options.connection) {
    const protocol = urlProtocol(options.url);
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      invalid(
        'url',
        'a Redis URL such as "redis://127.0.0.1:6379/0" (or pass connection)',
        redactUrl(String(options.url)),
      );
    }
  }
  if (typeof options.prefix !== 'string' || !prefixPattern.test(options.prefix)) {
    invalid('prefix', '1 to 100 letters, digits, "_", "-", "." or ":"', options.prefix);
  }
  const leaseTtlMs = integer('leaseTtlMs', options.leaseTtlMs ?? 10_000, 300, 3_600_000);
  const heartbeatMs = heartbeat(
    options.heartbeatMs,
    'leaseTtlMs',
    leaseTtlMs,
    'one missed beat loses no lease',
  );
  return Object.freeze({
    url: options.url,
    address: options.url ? redactUrl(options.url) : 'the given connection',
    prefix: options.prefix,
    partitions: integer('partitions', options.partitions ?? 16, 1, 1024),
    maxLengthPerPartition:
      options.maxLengthPerPartition === undefined
        ? undefined
        : integer('maxLengthPerPartition', options.maxLengthPerPartition, 100, 1_000_000_000),
    duplicateWindowMs: integer('duplicateWindowMs', options.duplicateWindowMs ?? 120_000, 100, 86_400_000),
    leaseTtlMs,
    heartbeatMs,
    pollMs: integer('pollMs', options.pollMs ?? 1_000, 10, 60_000),
    retryBaseMs: integer('retryBaseMs', options.retryBaseMs ?? 100, 1, 3_600_000),
    retryMaxMs: integer('retryMaxMs', options.retryMaxMs ?? 10_000, 1, 3_600_000),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs ?? 5_000, 100, 300_000),
  });
}

/**
 * Every key the adapter uses. All share the hash tag `{<prefix>}`, so on Redis Cluster they live
 * in one slot and the publish script can touch a stream and its dedup key together.
 */
export function naming(config: Pick<RedisStreamsConfig, 'prefix'>) {
  const tag = `{${config.prefix}}`;
  return {
    stream: (partition: number) => `${tag}:p${partition}`,
    dedup: (eventId: string) => `${tag}:seen:${eventId}`,
    layout: `${tag}:layout`,
    members: (group: string) => `${tag}:members:${group}`,
    lease: (group: string, partition: number) => `${tag}:lease:${group}:${partition}`,
  };
}

export type Naming = ReturnType<typeof naming>;

import type { Redis } from 'ioredis';
import type { Naming, RedisStreamsConfig } from './options.js';
import { beatScript, claimScript, releaseScript } from './scripts.js';

/**
 * Partition leases and membership in Redis keys that expire `leaseTtlMs` after their last write:
 * a lease is a string holding the member id (`SET … PX`, taken or renewed only by a script that
 * checks the holder), membership a sorted set scored by the server's clock at each beat.
 */
export interface Lease {
  readonly partition: number;
  readonly key: string;
  /** `performance.now()` before which the lease has certainly not expired on the server. */
  validUntil: number;
}

export function leaseTable(
  redis: Redis,
  config: RedisStreamsConfig,
  names: Naming,
  group: string,
  member: string,
) {
  // Counting from the send time, less a margin for timer slack, never overestimates.
  const margin = Math.min(1_000, config.leaseTtlMs / 5);
  const validFrom = (sentAt: number) => sentAt + config.leaseTtlMs - margin;
  return {
    /** Records a beat and returns the live members, sorted. */
    async beat(): Promise<string[]> {
      const live = (await redis.eval(
        beatScript,
        1,
        names.members(group),
        member,
        config.leaseTtlMs,
      )) as string[];
      return [...new Set([...live, member])].sort();
    },
    async leave(): Promise<void> {
      await redis.zrem(names.members(group), member);
    },
    /** Takes the lease of `partition` if free (or already ours) and returns it; else undefined. */
    async claim(partition: number): Promise<Lease | undefined> {
      const key = names.lease(group, partition);
      const sentAt = performance.now();
      const ok = (await redis.eval(claimScript, 1, key, member, config.leaseTtlMs)) as number;
      return ok === 1 ? { partition, key, validUntil: validFrom(sentAt) } : undefined;
    },
    /** 'lost' when someone else holds it now; 'unknown' when Redis did not answer. */
    async renew(lease: Lease): Promise<'renewed' | 'lost' | 'unknown'> {
      const sentAt = performance.now();
      try {
        const ok = (await redis.eval(claimScript, 1, lease.key, member, config.leaseTtlMs)) as number;
        if (ok !== 1) return 'lost';
        lease.validUntil = validFrom(sentAt);
        return 'renewed';
      } catch {
        return 'unknown';
      }
    },
    async release(lease: Lease): Promise<void> {
      await redis.eval(releaseScript, 1, lease.key, member);
    },
  };
}

export type LeaseTable = ReturnType<typeof leaseTable>;

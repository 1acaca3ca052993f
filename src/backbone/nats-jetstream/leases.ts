import type { NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { TidemarkError } from '../../errors.js';
import type { NatsJetStreamConfig } from './options.js';
import type { Naming } from './names.js';

/**
 * Partition leases and group membership in a NATS KV bucket whose entries expire `leaseTtlMs`
 * after their last write.
 *
 * Why a KV bucket: NATS 2.9 has no way to pin a consumer to one client (priority groups and
 * pinned clients arrived in 2.11), so exclusive ownership of a partition is built from the
 * bucket's compare-and-set writes: `create` succeeds for one member only, `update` with the last
 * revision renews only the holder's entry, and the bucket's max age removes the entries of a
 * member that stopped writing (a dead process), so its partitions become claimable again.
 */
export interface Lease {
  readonly partition: number;
  readonly key: string;
  revision: number;
  /** `performance.now()` before which the entry has certainly not expired on the server. */
  validUntil: number;
}

export type RenewOutcome = 'renewed' | 'lost' | 'unknown';

export interface LeaseTable {
  beat(group: string, member: string): Promise<void>;
  leave(group: string, member: string): Promise<void>;
  /** Members that wrote a heartbeat within the TTL, sorted. */
  liveMembers(group: string): Promise<string[]>;
  /** The lease of `partition`, if it is free or already this member's; else undefined. */
  claim(group: string, partition: number, member: string): Promise<Lease | undefined>;
  renew(lease: Lease, member: string): Promise<RenewOutcome>;
  /** Deletes the entry only if it is still this lease's revision. */
  release(lease: Lease): Promise<void>;
}

export async function openLeaseTable(
  nc: NatsConnection,
  config: NatsJetStreamConfig,
  names: Naming,
): Promise<LeaseTable> {
  const kv = await new Kvm(nc).create(names.bucket, {
    ttl: config.leaseTtlMs,
    history: 1,
    storage: config.storage,
    replicas: config.replicas,
  });
  const ttl = (await kv.status()).ttl;
  if (ttl !== config.leaseTtlMs) {
    throw new TidemarkError(
      'TM_STREAM_MISMATCH',
      `NATS KV bucket '${names.bucket}' (partition leases of stream '${config.stream}') expires entries ` +
        `after ${ttl} ms, but leaseTtlMs is ${config.leaseTtlMs}; configure leaseTtlMs: ${ttl} ` +
        '(every member of a stream must agree on when a silent member counts as dead)',
      { context: { bucket: names.bucket, existing: ttl, configured: config.leaseTtlMs } },
    );
  }
  return leaseTable(kv, config, names);
}

const wrongRevision = (error: unknown) =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

function leaseTable(kv: KV, config: NatsJetStreamConfig, names: Naming): LeaseTable {
  // The server starts an entry's max age when it stores the write, which is after we sent it;
  // counting from the send time, less a margin for timer slack, never overestimates.
  const margin = Math.min(1_000, config.leaseTtlMs / 5);
  const validFrom = (sentAt: number) => sentAt + config.leaseTtlMs - margin;

  /** After a failed write: if the entry is still ours (a lost reply), take its revision. */
  async function adopt(key: string, member: string): Promise<number | undefined> {
    const entry = await kv.get(key);
    return entry && entry.operation === 'PUT' && entry.string() === member ? entry.revision : undefined;
  }

  return {
    async beat(group, member) {
      await kv.put(names.memberKey(group, member), String(Date.now()));
    },
    async leave(group, member) {
      await kv.delete(names.memberKey(group, member));
    },
    async liveMembers(group) {
      const members: string[] = [];
      for await (const key of await kv.keys(names.membersFilter(group))) members.push(names.memberOfKey(key));
      return members.sort();
    },
    async claim(group, partition, member) {
      const key = names.leaseKey(group, partition);
      const sentAt = performance.now();
      try {
        const revision = await kv.create(key, member);
        return { partition, key, revision, validUntil: validFrom(sentAt) };
      } catch (error) {
        if (!wrongRevision(error)) throw error;
        const revision = await adopt(key, member);
        // Adopted without a fresh write: valid only once the next renewal succeeds.
        return revision === undefined ? undefined : { partition, key, revision, validUntil: 0 };
      }
    },
    async renew(lease, member) {
      const sentAt = performance.now();
      try {
        lease.revision = await kv.update(lease.key, member, lease.revision);
        lease.validUntil = validFrom(sentAt);
        return 'renewed';
      } catch (error) {
        if (!wrongRevision(error)) return 'unknown';
        let revision: number | undefined;
        try {
          revision = await adopt(lease.key, member);
        } catch {
          return 'unknown';
        }
        if (revision === undefined) return 'lost';
        lease.revision = revision;
        return 'unknown';
      }
    },
    async release(lease) {
      await kv.delete(lease.key, { previousSeq: lease.revision });
    },
  };
}

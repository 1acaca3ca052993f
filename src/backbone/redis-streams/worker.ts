import type { Redis } from 'ioredis';
import type { LimitFunction } from 'p-limit';
import type { BackboneMessage, BatchHandler, SubscribeOptions } from '../backbone.js';
import type { Envelope } from '../../envelope/types.js';
import { runPartitionWorker, type PartitionWorker as LeasedWorker } from '../shared/worker.js';
import type { RedisPool } from './connect.js';
import type { Lease } from './leases.js';
import type { RedisStreamsConfig } from './options.js';

export type PartitionWorker = LeasedWorker<Lease>;

export interface WorkerArgs {
  readonly pool: RedisPool;
  readonly config: RedisStreamsConfig;
  readonly stream: string;
  readonly group: string;
  readonly member: string;
  readonly partition: number;
  readonly lease: Lease;
  readonly handler: BatchHandler;
  readonly limit: LimitFunction;
  readonly options: SubscribeOptions;
}

type Entry = [id: string, fields: string[] | null];
type ReadReply = [stream: string, entries: Entry[]][] | null;

function decode(text: string): Envelope {
  try {
    return JSON.parse(text) as Envelope;
  } catch {
    // Not ours to judge: the consumer runtime validates envelopes and dead-letters bad ones.
    return text as unknown as Envelope;
  }
}

/**
 * Stream ids `<ms>-<seq>` as one growing safe integer, ms * 4096 + seq: it grows with the id as
 * long as a partition gets fewer than 4096 entries in one millisecond, far beyond what one Redis
 * server appends (the id itself is the exact position).
 */
function offsetOf(id: string): number {
  const [ms, seq] = id.split('-');
  return Number(ms) * 4096 + Math.min(Number(seq), 4095);
}

/**
 * Works one partition stream while its lease is held. On start it takes over every pending
 * entry of the group (`XAUTOCLAIM` with no idle minimum: holding the lease means the previous
 * holder is gone or has handed the partition back), then reads its own pending entries first
 * (`XREADGROUP … 0`), oldest first, and only then new ones (`>`). A resolved batch is XACKed; a
 * rejected one stays pending and is read again from its first entry after a backoff.
 */
export function startWorker(args: WorkerArgs): PartitionWorker {
  const { pool, config, stream, group, member, partition, lease, handler, limit, options } = args;
  const batchSize = options.batchSize ?? 100;

  async function reclaim(redis: Redis): Promise<void> {
    let cursor = '0-0';
    do {
      const reply = (await redis.xautoclaim(stream, group, member, 0, cursor, 'COUNT', 1000, 'JUSTID')) as [
        string,
        string[],
      ];
      cursor = reply[0];
    } while (cursor !== '0-0');
  }

  return runPartitionWorker(partition, lease, config, async (worker) => {
    let failures = 0;
    let lastFailure: { id: string; attempt: number } | undefined;
    let redis: Redis | undefined;
    let pending = true;

    while (worker.running) {
      if (await worker.awaitLease()) continue;
      let entries: Entry[];
      try {
        if (!redis) {
          redis = await pool.open();
          await reclaim(redis);
          pending = true;
        }
        const reply = (
          pending
            ? await redis.xreadgroup('GROUP', group, member, 'COUNT', batchSize, 'STREAMS', stream, '0')
            : await redis.xreadgroup(
                'GROUP',
                group,
                member,
                'COUNT',
                batchSize,
                'BLOCK',
                config.pollMs,
                'STREAMS',
                stream,
                '>',
              )
        ) as ReadReply;
        entries = reply?.[0]?.[1] ?? [];
      } catch {
        if (redis) pool.release(redis);
        redis = undefined;
        failures += 1;
        await worker.backoff(failures);
        continue;
      }
      if (entries.length === 0) {
        pending = false;
        continue;
      }
      // An entry trimmed away while pending comes back without fields: nothing left to deliver.
      const gone = entries.filter(([, fields]) => fields === null).map(([id]) => id);
      if (gone.length > 0) await pool.main.xack(stream, group, ...gone).catch(() => {});
      const present = entries.filter((e): e is [string, string[]] => e[1] !== null);
      if (present.length === 0 || !worker.running || !worker.holdsLease()) continue;

      const wasPending = pending;
      let firstAttempt = 1;
      if (wasPending) {
        const firstId = present[0]![0];
        const info = (await pool.main.xpending(stream, group, firstId, firstId, 1).catch(() => [])) as [
          string,
          string,
          number,
          number,
        ][];
        firstAttempt = Math.max(info[0]?.[3] ?? 1, lastFailure?.id === firstId ? lastFailure.attempt + 1 : 1);
      }
      const messages: BackboneMessage[] = present.map(([id, fields], i) => ({
        envelope: decode(fields[fields.indexOf('e') + 1] ?? ''),
        partition,
        offset: offsetOf(id),
        deliveryAttempt: i === 0 ? firstAttempt : wasPending ? 2 : 1,
      }));
      try {
        await limit(() => handler(messages, partition));
      } catch (error) {
        failures += 1;
        lastFailure = { id: present[0]![0], attempt: firstAttempt };
        pending = true;
        options.onError?.(error, { partition, attempt: firstAttempt, firstOffset: messages[0]!.offset });
        await worker.backoff(failures);
        continue;
      }
      failures = 0;
      lastFailure = undefined;
      // A lost XACK leaves the entries pending: they come again, and the inbox drops repeats.
      await pool.main.xack(stream, group, ...present.map(([id]) => id)).catch(() => (pending = true));
    }
    if (redis) pool.release(redis);
  });
}

import pLimit from 'p-limit';
import type { BatchHandler, SubscribeOptions, Subscription } from '../backbone.js';
import type { RedisPool } from './connect.js';
import { leaseTable } from './leases.js';
import type { Naming, RedisStreamsConfig } from './options.js';
import { startWorker, type PartitionWorker } from './worker.js';
import { isAssigned, newMemberId, sortedPartitions } from '../shared/membership.js';
import { startHeartbeat } from '../shared/heartbeat.js';

export interface JoinArgs {
  readonly pool: RedisPool;
  readonly config: RedisStreamsConfig;
  readonly names: Naming;
  readonly group: string;
  readonly handler: BatchHandler;
  readonly options: SubscribeOptions;
  readonly onStop: () => void;
}

/** Creates the group on every partition stream (from the beginning); an existing group is kept. */
async function ensureGroups(pool: RedisPool, config: RedisStreamsConfig, names: Naming, group: string) {
  for (let p = 0; p < config.partitions; p++) {
    try {
      await pool.main.xgroup('CREATE', names.stream(p), group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
  }
}

/**
 * Joins `group` as a new member: the same lease-and-heartbeat scheme as the NATS adapter, on
 * Redis keys. Each beat the member records itself, reads the live members, wants partition p
 * iff p mod n is its index among them, renews the leases it holds, hands back the ones it no
 * longer wants once their batch in flight is settled, and claims the free ones it wants. A dead
 * member's leases expire after `leaseTtlMs`; whoever takes a partition next claims its pending
 * entries with XAUTOCLAIM.
 */
export async function joinGroup(args: JoinArgs): Promise<Subscription> {
  const { pool, config, names, group, handler, options } = args;
  await ensureGroups(pool, config, names, group);
  // Also the Redis consumer name, so XPENDING shows which instance holds what.
  const member = newMemberId().replace(/[^A-Za-z0-9_.-]/g, '-');
  const leases = leaseTable(pool.main, config, names, group, member);
  const limit = pLimit(options.concurrency ?? 4);
  const workers = new Map<number, PartitionWorker>();
  const retiring = new Map<number, Promise<void>>();
  let stopped = false;

  function retire(worker: PartitionWorker, giveBack: boolean): void {
    if (retiring.has(worker.partition)) return;
    workers.delete(worker.partition);
    const done = worker
      .stop()
      .then(() => (giveBack ? leases.release(worker.lease) : undefined))
      .catch(() => {}) // not given back: the lease simply expires
      .finally(() => retiring.delete(worker.partition));
    retiring.set(worker.partition, done);
  }

  async function tick(): Promise<void> {
    await Promise.all(
      [...workers.values()].map(async (worker) => {
        if ((await leases.renew(worker.lease)) === 'lost') retire(worker, false);
      }),
    );
    const live = await leases.beat();
    const index = live.indexOf(member);
    const wanted = (p: number) => isAssigned(p, index, live.length);
    for (const worker of [...workers.values()]) if (!wanted(worker.partition)) retire(worker, true);
    for (let p = 0; p < config.partitions; p++) {
      if (stopped || !wanted(p) || workers.has(p) || retiring.has(p)) continue;
      const lease = await leases.claim(p);
      if (!lease) continue;
      workers.set(
        p,
        startWorker({
          pool,
          config,
          stream: names.stream(p),
          group,
          member,
          partition: p,
          lease,
          handler,
          limit,
          options,
        }),
      );
    }
  }

  await tick();
  const heartbeat = startHeartbeat(tick, config.heartbeatMs);

  return {
    group,
    member,
    assignedPartitions: () => sortedPartitions(workers),
    async stop() {
      if (stopped) return;
      stopped = true;
      await heartbeat.stop();
      for (const worker of [...workers.values()]) retire(worker, true);
      await Promise.all([...retiring.values()]);
      await leases.leave().catch(() => {});
      args.onStop();
    },
  };
}

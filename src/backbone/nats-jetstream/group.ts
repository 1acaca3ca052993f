import pLimit from 'p-limit';
import type { BatchHandler, SubscribeOptions, Subscription } from '../backbone.js';
import type { NatsSession } from './connect.js';
import type { LeaseTable } from './leases.js';
import { checkGroup, memberToken, type Naming } from './names.js';
import type { NatsJetStreamConfig } from './options.js';
import { startWorker, type PartitionWorker } from './worker.js';
import { groupJoinFailure, isAssigned, newMemberId, sortedPartitions } from '../shared/membership.js';
import { startHeartbeat } from '../shared/heartbeat.js';

export interface JoinArgs {
  readonly session: NatsSession;
  readonly config: NatsJetStreamConfig;
  readonly names: Naming;
  readonly leases: LeaseTable;
  readonly group: string;
  readonly handler: BatchHandler;
  readonly options: SubscribeOptions;
  readonly onStop: () => void;
}

/**
 * Joins `group` as a new member. Every heartbeat the member refreshes its membership entry,
 * reads the live members, and wants partition p iff p mod n is its index in the sorted member
 * list (the same rule as postgres-log). It renews the leases it holds, hands back those it no
 * longer wants once their batch in flight is settled, and claims the ones it wants that are
 * free. A partition is only ever worked by the holder of its lease, so a key is handled by one
 * member at a time; a dead member's entries expire and its partitions move after `leaseTtlMs`.
 */
export async function joinGroup(args: JoinArgs): Promise<Subscription> {
  const { session, config, names, leases, group, handler, options } = args;
  checkGroup(group);
  const member = memberToken(newMemberId());
  const limit = pLimit(options.concurrency ?? 4);
  const workers = new Map<number, PartitionWorker>();
  const releasing = new Set<number>();
  const retiring = new Set<Promise<void>>();
  let stopped = false;

  function start(partition: number, lease: PartitionWorker['lease']): PartitionWorker {
    return startWorker({
      session,
      config,
      spec: {
        stream: config.stream,
        name: names.consumer(group, partition),
        filterSubject: names.subject(partition),
      },
      partition,
      lease,
      handler,
      limit,
      options,
    });
  }

  /** Ends a worker without waiting for it, so one slow batch never delays the renewals of the others. */
  function retire(worker: PartitionWorker, giveBack: boolean): void {
    if (releasing.has(worker.partition)) return;
    releasing.add(worker.partition);
    const done = worker
      .stop()
      .then(() => (giveBack ? leases.release(worker.lease) : undefined))
      .catch(() => {}) // not given back, the entry simply expires
      .finally(() => {
        if (workers.get(worker.partition) === worker) workers.delete(worker.partition);
        releasing.delete(worker.partition);
        retiring.delete(done);
      });
    retiring.add(done);
  }

  async function tick(): Promise<void> {
    // Renewals first: they keep the partitions this member is working on.
    await Promise.all(
      [...workers.values()].map(async (worker) => {
        // Someone else holds it now: stop, and leave the entry alone.
        if ((await leases.renew(worker.lease, member)) === 'lost') retire(worker, false);
      }),
    );
    await leases.beat(group, member);
    const live = await leases.liveMembers(group);
    if (!live.includes(member)) live.push(member); // our own write may not be listed yet
    live.sort();
    const index = live.indexOf(member);
    const wanted = (p: number) => isAssigned(p, index, live.length);

    for (const worker of workers.values()) if (!wanted(worker.partition)) retire(worker, true);
    for (let p = 0; p < config.partitions; p++) {
      if (stopped || !wanted(p) || workers.has(p)) continue;
      const lease = await leases.claim(group, p, member);
      if (!lease) continue;
      if (stopped) await leases.release(lease).catch(() => {});
      else workers.set(p, start(p, lease));
    }
  }

  try {
    await tick();
  } catch (cause) {
    stopped = true;
    await Promise.all([...workers.values()].map((w) => w.stop()));
    throw groupJoinFailure(
      group,
      `NATS stream '${config.stream}'`,
      `check the server and the lease bucket '${names.bucket}'`,
      { stream: config.stream },
      cause,
    );
  }
  const heartbeat = startHeartbeat(tick, config.heartbeatMs);

  return {
    group,
    member,
    assignedPartitions: () => sortedPartitions(workers),
    async stop() {
      if (stopped) return;
      stopped = true;
      await heartbeat.stop();
      for (const worker of workers.values()) retire(worker, true);
      await Promise.all([...retiring]);
      workers.clear();
      await leases.leave(group, member).catch(() => {});
      args.onStop();
    },
  };
}

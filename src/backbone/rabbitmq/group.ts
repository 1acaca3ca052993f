import pLimit from 'p-limit';
import type { BatchHandler, SubscribeOptions, Subscription } from '../backbone.js';
import type { RabbitSession } from './connect.js';
import { drainDeadLetters, type DeadLetterDrain, type DeadLetterSink } from './dead-letters.js';
import type { Naming } from './names.js';
import type { RabbitMqConfig } from './options.js';
import { openPresence } from './presence.js';
import { startWorker, type PartitionWorker } from './worker.js';
import { isAssigned, newMemberId, sortedPartitions } from '../shared/membership.js';
import { startHeartbeat } from '../shared/heartbeat.js';

export interface JoinArgs {
  readonly session: RabbitSession;
  readonly config: RabbitMqConfig;
  readonly names: Naming;
  readonly group: string;
  readonly handler: BatchHandler;
  readonly options: SubscribeOptions;
  /** Where the group's broker dead letters go; without one they stay in the `.dead` queue. */
  readonly deadLetters: DeadLetterSink | undefined;
  readonly onStop: () => void;
}

/**
 * Joins `group` as a new member. Every heartbeat the member announces itself, reads the live
 * members, and consumes partition p iff p mod n is its index in the sorted member list (the same
 * rule as the other adapters). It stops consuming partitions it no longer wants once their batch
 * in flight is settled; a dead member's consumers vanish with its connection, and its partitions
 * move once it has missed beats for `memberTtlMs`.
 */
export async function joinGroup(args: JoinArgs): Promise<Subscription> {
  const { session, config, names, group, handler, options } = args;
  const member = newMemberId().replace(/\s/g, '-');
  const limit = pLimit(options.concurrency ?? 4);
  const presence = openPresence(session, config, names, group, member);
  const workers = new Map<number, PartitionWorker>();
  /** Workers handing their partition back; p is not consumed again here until that is done. */
  const retiring = new Map<number, Promise<void>>();
  let deadLetters: DeadLetterDrain | undefined;
  let stopped = false;

  function retire(worker: PartitionWorker): void {
    workers.delete(worker.partition);
    const done = worker.stop().finally(() => retiring.delete(worker.partition));
    retiring.set(worker.partition, done);
  }

  async function tick(): Promise<void> {
    await presence.beat();
    const live = presence.live();
    const index = live.indexOf(member);
    const wanted = (p: number) => isAssigned(p, index, live.length);
    for (const worker of [...workers.values()]) if (!wanted(worker.partition)) retire(worker);
    for (let p = 0; p < config.partitions; p++) {
      if (stopped || !wanted(p) || workers.has(p) || retiring.has(p)) continue;
      workers.set(
        p,
        startWorker({ session, config, queue: names.queue(group, p), partition: p, handler, limit, options }),
      );
    }
  }

  await tick();
  if (args.deadLetters) {
    deadLetters = drainDeadLetters(session, config, names.deadQueue(group), group, args.deadLetters);
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
      for (const worker of [...workers.values()]) retire(worker);
      await Promise.all([...retiring.values()]);
      await deadLetters?.stop();
      await presence.leave().catch(() => {});
      args.onStop();
    },
  };
}

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { BatchHandler, SubscribeOptions, Subscription } from '../backbone.js';
import type { RabbitSession } from './connect.js';
import { drainDeadLetters, type DeadLetterDrain, type DeadLetterSink } from './dead-letters.js';
import type { Naming } from './names.js';
import type { RabbitMqConfig } from './options.js';
import { openPresence } from './presence.js';
import { startWorker, type PartitionWorker } from './worker.js';

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
  const member = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`.replace(/\s/g, '-');
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
    const wanted = (p: number) => p % live.length === index;
    for (const worker of [...workers.values()]) if (!wanted(worker.partition)) retire(worker);
    for (let p = 0; p < config.partitions; p++) {
      if (stopped || !wanted(p) || workers.has(p) || retiring.has(p)) continue;
      workers.set(
        p,
        startWorker({ session, config, queue: names.queue(group, p), partition: p, handler, limit, options }),
      );
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(() => {
      ticking = tick()
        .catch(() => {}) // broker trouble: try again next beat
        .finally(() => {
          if (!stopped) schedule();
        });
    }, config.heartbeatMs);
  };
  await tick();
  if (args.deadLetters) {
    deadLetters = drainDeadLetters(session, config, names.deadQueue(group), group, args.deadLetters);
  }
  schedule();

  return {
    group,
    member,
    assignedPartitions: () => [...workers.keys()].sort((a, b) => a - b),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await ticking;
      for (const worker of [...workers.values()]) retire(worker);
      await Promise.all([...retiring.values()]);
      await deadLetters?.stop();
      await presence.leave().catch(() => {});
      args.onStop();
    },
  };
}

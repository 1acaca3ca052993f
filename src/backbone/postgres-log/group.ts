import pLimit from 'p-limit';
import type { BackboneMessage, BatchHandler, SubscribeOptions, Subscription } from '../backbone.js';
import type { Envelope } from '../../envelope/types.js';
import type { Db, Unlisten } from '../../store/db.js';
import { backoffDelay } from '../../util/backoff.js';
import { Wakeup, sleep } from '../../util/wakeup.js';
import type { logStatements } from './sql.js';
import { isAssigned, newMemberId, sortedPartitions } from '../shared/membership.js';

export interface GroupTiming {
  /** A partition lease lasts this long unless renewed (default 10 s); a dead member's partitions move after it. */
  readonly leaseMs: number;
  /** How often members renew leases and rebalance (default 2 s). */
  readonly heartbeatMs: number;
  /** Polling fallback when no NOTIFY arrives (default 500 ms). */
  readonly pollMs: number;
  /** Backoff after a rejected batch (defaults 100 ms, capped at 10 s). */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

const defaultTiming: GroupTiming = {
  leaseMs: 10_000,
  heartbeatMs: 2_000,
  pollMs: 500,
  retryBaseMs: 100,
  retryMaxMs: 10_000,
};

interface JoinArgs {
  db: Db;
  sql: ReturnType<typeof logStatements>;
  channel: string;
  group: string;
  partitions: number;
  handler: BatchHandler;
  options: SubscribeOptions;
  timing: Partial<GroupTiming> | undefined;
  onStop: () => void;
}

interface PartitionWorker {
  readonly partition: number;
  readonly wakeup: Wakeup;
  /** Ends the loop after the batch in flight; `release` gives the lease back for another member. */
  stop(release: boolean): Promise<void>;
}

/**
 * Joins `group` as a new member: partitions are spread over the live members by index
 * (partition p goes to member p mod n of the sorted member list), and each is fenced by a
 * lease row, so at most one member processes a partition even while membership changes.
 */
export async function joinGroup(args: JoinArgs): Promise<Subscription> {
  const { db, sql, group, partitions, handler, options } = args;
  const timing = { ...defaultTiming, ...args.timing };
  const member = newMemberId();
  const batchSize = options.batchSize ?? 100;
  const limit = pLimit(options.concurrency ?? 4);
  const workers = new Map<number, PartitionWorker>();
  let stopped = false;

  await db.query(sql.ensureCheckpoints, [group, partitions]);

  function startWorker(partition: number, fromOffset: number): PartitionWorker {
    const wakeup = new Wakeup();
    let running = true;
    const loop = (async () => {
      let offset = fromOffset;
      while (running) {
        const read = await db
          .query<{ log_offset: number; envelope: Envelope }>(sql.readPartition, [
            partition,
            offset,
            batchSize,
          ])
          .catch(() => undefined);
        if (!read || read.rows.length === 0) {
          await wakeup.wait(timing.pollMs);
          continue;
        }
        const rows = read.rows;
        const last = Number(rows[rows.length - 1]!.log_offset);
        let delivered = false;
        for (let attempt = 1; running && !delivered; attempt++) {
          const messages: BackboneMessage[] = rows.map((r) => ({
            envelope: r.envelope,
            partition,
            offset: Number(r.log_offset),
            deliveryAttempt: attempt,
          }));
          try {
            await limit(() => handler(messages, partition));
            delivered = true;
          } catch (error) {
            options.onError?.(error, { partition, attempt, firstOffset: messages[0]!.offset });
            await sleep(
              backoffDelay(attempt, { baseDelayMs: timing.retryBaseMs, maxDelayMs: timing.retryMaxMs }),
            );
          }
        }
        if (!delivered) break;
        const committed = await db.query(sql.commit, [group, partition, member, last]).catch(() => undefined);
        if (!committed) continue; // database hiccup: the batch is redelivered, the inbox absorbs it
        if (committed.rowCount === 0) break; // lease lost: another member owns this partition now
        offset = last;
        // A short page means the partition was read to its end: what is appended later notifies,
        // and a notification that came while this batch ran is kept by the level-triggered wake-up.
        if (rows.length < batchSize) await wakeup.wait(timing.pollMs);
      }
    })();
    return {
      partition,
      wakeup,
      async stop(release: boolean) {
        running = false;
        wakeup.signal();
        await loop;
        if (release) await db.query(sql.release, [group, partition, member]).catch(() => undefined);
      },
    };
  }

  async function rebalance(): Promise<void> {
    await db.query(sql.heartbeat, [group, member]);
    const live = (await db.query<{ member: string }>(sql.liveMembers, [group, timing.leaseMs])).rows.map(
      (r) => r.member,
    );
    const index = Math.max(0, live.indexOf(member));
    const count = Math.max(1, live.length);
    const desired = new Set<number>();
    for (let p = 0; p < partitions; p++) if (isAssigned(p, index, count)) desired.add(p);

    const renewed = new Set(
      (await db.query<{ partition: number }>(sql.renew, [group, member, timing.leaseMs])).rows.map((r) =>
        Number(r.partition),
      ),
    );
    const stops: Promise<void>[] = [];
    for (const [p, worker] of workers) {
      if (!renewed.has(p)) {
        workers.delete(p);
        stops.push(worker.stop(false));
      } else if (!desired.has(p)) {
        workers.delete(p);
        stops.push(worker.stop(true));
      }
    }
    await Promise.all(stops);
    for (const p of desired) {
      if (stopped || workers.has(p)) continue;
      const claim = await db.query<{ log_offset: number }>(sql.claim, [group, p, member, timing.leaseMs]);
      const row = claim.rows[0];
      if (row) workers.set(p, startWorker(p, Number(row.log_offset)));
    }
  }

  let unlisten: Unlisten | undefined;
  unlisten = await db
    .listen(args.channel, (payload) => {
      if (payload === '') {
        for (const worker of workers.values()) worker.wakeup.signal();
        return;
      }
      for (const partition of payload.split(',')) workers.get(Number(partition))?.wakeup.signal();
    })
    .catch(() => undefined);

  await rebalance();
  let rebalancing = Promise.resolve();
  const timer = setInterval(() => {
    rebalancing = rebalancing.then(() => (stopped ? undefined : rebalance().catch(() => undefined)));
  }, timing.heartbeatMs);

  return {
    group,
    member,
    assignedPartitions: () => sortedPartitions(workers),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await rebalancing;
      await Promise.all([...workers.values()].map((w) => w.stop(true)));
      workers.clear();
      await db.query(sql.leave, [group, member]).catch(() => undefined);
      await unlisten?.().catch(() => undefined);
      unlisten = undefined;
      args.onStop();
    },
  };
}

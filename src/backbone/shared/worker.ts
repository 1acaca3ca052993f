import { backoffDelay } from '../../util/backoff.js';
import { Wakeup } from '../../util/wakeup.js';

/** What a leased partition worker needs of its lease: when it stops being certainly ours. */
export interface WorkerLease {
  /** `performance.now()` time after which the lease may have passed to another member. */
  readonly validUntil: number;
}

export interface PartitionWorker<L extends WorkerLease> {
  readonly partition: number;
  readonly lease: L;
  /** Takes no new batch, waits for the one in flight to be settled, then ends. */
  stop(): Promise<void>;
}

export interface WorkerPacing {
  readonly heartbeatMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/** The loop's view of its worker: whether to go on, and pauses that `stop()` cuts short. */
export interface WorkerLoop {
  readonly running: boolean;
  pause(ms: number): Promise<void>;
  /** The retry delay after `failures` failures in a row (at least the first step). */
  backoff(failures: number): Promise<void>;
  /** Whether the lease is certainly ours right now. */
  holdsLease(): boolean;
  /**
   * Pauses briefly and answers true while the lease is not certainly ours: the member's
   * heartbeat renews it, and pulling meanwhile could take work another member now owns.
   */
  awaitLease(): Promise<boolean>;
}

/**
 * Runs `loop` as the worker of one leased partition. Shared by the broker adapters whose
 * workers hold a lease (redis-streams, nats-jetstream) so they stop and back off alike:
 * `stop()` ends the loop at its next check and cuts any pause short.
 */
export function runPartitionWorker<L extends WorkerLease>(
  partition: number,
  lease: L,
  pacing: WorkerPacing,
  loop: (worker: WorkerLoop) => Promise<void>,
): PartitionWorker<L> {
  const wakeup = new Wakeup();
  let running = true;
  const holdsLease = () => performance.now() < lease.validUntil;
  const worker: WorkerLoop = {
    get running() {
      return running;
    },
    pause: (ms) => wakeup.wait(ms),
    backoff: (failures) =>
      wakeup.wait(
        backoffDelay(Math.max(1, failures), {
          baseDelayMs: pacing.retryBaseMs,
          maxDelayMs: pacing.retryMaxMs,
        }),
      ),
    holdsLease,
    async awaitLease() {
      if (holdsLease()) return false;
      await wakeup.wait(Math.min(100, pacing.heartbeatMs));
      return true;
    },
  };
  const done = loop(worker);
  return {
    partition,
    lease,
    async stop() {
      running = false;
      wakeup.signal();
      await done;
    },
  };
}

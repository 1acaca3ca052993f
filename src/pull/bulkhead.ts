import { TidemarkError } from '../errors.js';

export interface BulkheadOptions {
  /** Work items running at the same time. */
  readonly maxConcurrent: number;
  /** Work items waiting for a slot; one more fails at once. */
  readonly maxQueued: number;
  /** The error a call gets when every slot and every queue place is taken. */
  readonly full: () => Error;
}

export interface Bulkhead {
  /** Runs `work` in a slot: at once if one is free, after queueing if not, or fails at once when the queue is full. */
  run<T>(work: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly queued: number;
  /** Refuses new work and fails every queued item with `error`; running work finishes. */
  close(error: Error): void;
}

/**
 * A bulkhead: at most `maxConcurrent` calls to one dependency at a time, so a slow authority
 * ties up a bounded share of this process, and a bounded FIFO queue behind it, so a burst waits
 * instead of failing while overload fails fast instead of piling up without limit.
 */
export function createBulkhead(options: BulkheadOptions): Bulkhead {
  let active = 0;
  let closedWith: Error | undefined;
  const waiting: Array<{ start: () => void; fail: (error: Error) => void }> = [];

  const release = () => {
    const next = waiting.shift();
    if (next) next.start();
    else active--;
  };

  return {
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (closedWith) throw closedWith;
      if (active < options.maxConcurrent) {
        active++;
      } else {
        if (waiting.length >= options.maxQueued) throw options.full();
        // The slot of the finishing item is handed over as is: `active` stays the same.
        await new Promise<void>((start, fail) => waiting.push({ start, fail }));
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
    close(error: Error) {
      closedWith = error;
      for (const item of waiting.splice(0)) item.fail(error);
    },
  };
}

export const bulkheadFull = (authority: string, maxConcurrent: number, maxQueued: number): TidemarkError =>
  new TidemarkError(
    'TM_AUTHORITY_UNAVAILABLE',
    `pull client for ${authority}: ${maxConcurrent} requests are running and ${maxQueued} are queued (the bulkhead is full); ` +
      'the authority is slow or the load too high: retry later, or raise maxConcurrent/maxQueued',
    { context: { authority, reason: 'bulkhead-full', maxConcurrent, maxQueued } },
  );

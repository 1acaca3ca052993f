import type { ConsumerProgress } from '../consumer/types.js';

/** Default stall threshold: no event finished for this long while a batch is in hand. */
export const defaultStallAfterMs = 60_000;

export interface ConsumerStall {
  readonly stalled: boolean;
  /** How long it has had work without finishing an event (0 when idle or progressing). */
  readonly stuckForMs: number;
  /** One sentence for people, present when `stalled`. */
  readonly explanation?: string;
}

/**
 * A consumer is stalled when it has had a delivered batch in hand for `stallAfterMs` and
 * finished no event in that time: a handler waiting on a lock or a remote call that never
 * answers, or retries that keep failing. An idle consumer (nothing in hand) is never stalled;
 * slow but moving is not stalled either.
 */
export function consumerStall(
  name: string,
  progress: ConsumerProgress,
  stallAfterMs: number,
  now: Date = new Date(),
): ConsumerStall {
  if (progress.batchesInHand === 0 || progress.inHandSince === undefined) {
    return { stalled: false, stuckForMs: 0 };
  }
  const since = Math.max(
    Date.parse(progress.inHandSince),
    progress.lastProgressAt === undefined ? 0 : Date.parse(progress.lastProgressAt),
  );
  const stuckForMs = Math.max(0, now.getTime() - since);
  if (stuckForMs < stallAfterMs) return { stalled: false, stuckForMs };
  return {
    stalled: true,
    stuckForMs,
    explanation:
      `consumer '${name}' has had ${progress.batchesInHand} batch${progress.batchesInHand === 1 ? '' : 'es'} ` +
      `in hand since ${progress.inHandSince} and finished no event for ${Math.round(stuckForMs / 1000)} s` +
      (progress.failing
        ? `: handler failing on ${progress.failing.entity} (attempt ${progress.failing.tries}): ${progress.failing.error}`
        : ' (a handler waiting on a lock or a slow call, or an event failing its retries)'),
  };
}

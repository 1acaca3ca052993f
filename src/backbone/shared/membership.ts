import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { TidemarkError } from '../../errors.js';

/**
 * A member id unique to this subscription and readable in the broker's tools: host, process id
 * and a random suffix. Each adapter still makes it fit its own naming rules.
 */
export function newMemberId(): string {
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/**
 * The assignment rule every adapter shares, so a group's members agree on who works what:
 * partition p belongs to the member at index p mod n of the sorted list of n live members.
 */
export function isAssigned(partition: number, memberIndex: number, memberCount: number): boolean {
  return partition % memberCount === memberIndex;
}

/** The partitions a subscription works, in order, as `Subscription.assignedPartitions` reports them. */
export function sortedPartitions(workers: ReadonlyMap<number, unknown>): number[] {
  return [...workers.keys()].sort((a, b) => a - b);
}

/** Joining a group failed for a reason of the broker's: says which group, where, and what to check. */
export function groupJoinFailure(
  group: string,
  where: string,
  check: string,
  context: Record<string, unknown>,
  cause: unknown,
): TidemarkError {
  return new TidemarkError(
    'TM_SERVICE_UNREACHABLE',
    `joining consumer group '${group}' on ${where} failed: ` +
      `${cause instanceof Error ? cause.message : String(cause)}; ${check}`,
    { cause, context: { group, ...context } },
  );
}

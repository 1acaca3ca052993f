import { AssertionError } from 'node:assert';
import type { Envelope } from '../envelope/types.js';

/**
 * Shared assertions for delivery guarantees. Each throws an AssertionError that names the
 * offending ids or keys, so a failing integrity test says what went wrong, not just that it did.
 */

type Identified = Pick<Envelope, 'id'>;
type Keyed = Pick<Envelope, 'id' | 'partitionkey'>;

const sample = (items: readonly string[], max = 10): string =>
  items.slice(0, max).join(', ') + (items.length > max ? ` … (${items.length} in all)` : '');

function fail(message: string): never {
  throw new AssertionError({ message });
}

/** Every published event was delivered at least once. */
export function assertNoLoss(published: readonly Identified[], delivered: readonly Identified[]): void {
  const seen = new Set(delivered.map((e) => e.id));
  const missing = published.map((e) => e.id).filter((id) => !seen.has(id));
  if (missing.length > 0) {
    fail(
      `${missing.length} of ${published.length} published events were never delivered: ${sample(missing)}`,
    );
  }
}

/** No event was delivered more than once. */
export function assertNoDuplicates(delivered: readonly Identified[]): void {
  const counts = new Map<string, number>();
  for (const e of delivered) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
  if (twice.length > 0) fail(`${twice.length} events were delivered more than once: ${sample(twice)}`);
}

/**
 * Per partition key, events were first delivered in publish order. Redelivery is allowed (a
 * retried batch replays from its first message), so only each id's first delivery counts:
 * `1 2 3 2 3 4` passes, `1 3 2` fails, and so does `1 3` followed later by `2`.
 */
export function assertPerKeyOrder(published: readonly Keyed[], delivered: readonly Keyed[]): void {
  const rank = new Map<string, number>();
  const perKeyCount = new Map<string, number>();
  for (const e of published) {
    const n = perKeyCount.get(e.partitionkey) ?? 0;
    rank.set(e.id, n);
    perKeyCount.set(e.partitionkey, n + 1);
  }
  const firstSeen = new Set<string>();
  const lastRank = new Map<string, { rank: number; id: string }>();
  for (const e of delivered) {
    if (firstSeen.has(e.id)) continue;
    firstSeen.add(e.id);
    const r = rank.get(e.id);
    if (r === undefined) continue; // not part of this workload
    const previous = lastRank.get(e.partitionkey);
    if (previous && previous.rank > r) {
      fail(
        `key '${e.partitionkey}': event ${e.id} (published #${r + 1}) was first delivered after ` +
          `${previous.id} (published #${previous.rank + 1})`,
      );
    }
    lastRank.set(e.partitionkey, { rank: r, id: e.id });
  }
}

/** Counts concurrent activity overall and per key; tests read the peaks afterwards. */
export interface OverlapProbe {
  /** Marks `keys` as being handled now; call the returned function when done. */
  enter(keys: Iterable<string>): () => void;
  /** Most handler calls in flight at once. */
  readonly maxInFlight: number;
  /** Most concurrent handlings of any single key, and which key reached it. */
  readonly maxPerKey: { readonly key: string | undefined; readonly count: number };
}

export function createOverlapProbe(): OverlapProbe {
  const active = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  let maxPerKey: { key: string | undefined; count: number } = { key: undefined, count: 0 };
  return {
    enter(keys) {
      const unique = [...new Set(keys)];
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      for (const key of unique) {
        const n = (active.get(key) ?? 0) + 1;
        active.set(key, n);
        if (n > maxPerKey.count) maxPerKey = { key, count: n };
      }
      let left = false;
      return () => {
        if (left) return;
        left = true;
        inFlight -= 1;
        for (const key of unique) active.set(key, (active.get(key) ?? 1) - 1);
      };
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get maxPerKey() {
      return maxPerKey;
    },
  };
}

/** No key was ever handled by two handler calls at once (across all members of a group). */
export function assertKeyExclusive(probe: OverlapProbe): void {
  const { key, count } = probe.maxPerKey;
  if (count > 1) fail(`key '${key}' was handled by ${count} handler calls at the same time`);
}

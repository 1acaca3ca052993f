/**
 * Consistency tiers of a read (pure rules, no I/O):
 *
 * - `strong`: ask the authority.
 * - `bounded`: a cached copy will do if it was fetched no more than `maxStalenessMs` before the
 *   read began and is at least `minVersion`; otherwise ask the authority.
 * - `eventual`: a cached copy will do if it is younger than the cache's `ttlMs` (and at least
 *   `minVersion`, if given).
 *
 * "Fetched at" is the moment the request that brought the copy was *sent*: the authority read its
 * state after that moment, so the copy is at least that fresh (never over-stated).
 */
export type ReadTier = 'strong' | 'bounded' | 'eventual';

export interface ReadOptions {
  /** Default `strong`. */
  readonly tier?: ReadTier;
  /** Oldest acceptable copy for `bounded`, in ms (default: the cache's `ttlMs`). */
  readonly maxStalenessMs?: number;
  /** Lowest acceptable version; sent to the authority as `?minVersion=` when fetching. */
  readonly minVersion?: number;
}

/** A read with its defaults filled in. */
export interface Read {
  readonly tier: ReadTier;
  readonly maxStalenessMs: number;
  readonly minVersion: number | undefined;
}

export interface CachedCopy {
  readonly version: number;
  /** Clock time the request that brought (or last confirmed) this copy was sent. */
  readonly fetchedAt: number;
}

/** Whether `copy` may answer `read` begun at `now`. */
export function cacheServes(copy: CachedCopy | undefined, read: Read, now: number, ttlMs: number): boolean {
  if (!copy) return false;
  if (read.minVersion !== undefined && copy.version < read.minVersion) return false;
  switch (read.tier) {
    case 'strong':
      return false;
    case 'bounded':
      return copy.fetchedAt >= now - read.maxStalenessMs;
    case 'eventual':
      return copy.fetchedAt > now - ttlMs;
  }
}

/**
 * Whether a request already in flight, sent no earlier than `startedAt`, may answer `read`
 * begun at `now` (request coalescing). A bounded read only joins a request young enough that
 * its answer will meet the bound.
 */
export function flightServes(startedAt: number, read: Read, now: number): boolean {
  return read.tier !== 'bounded' || startedAt >= now - read.maxStalenessMs;
}

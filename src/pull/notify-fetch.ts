import type { ApplyContext, EntityHandler } from '../consumer/types.js';
import type { Envelope } from '../envelope/types.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import type { Sql } from '../store/db.js';
import type { PullClient, PulledEntity } from './client.js';

/** What a notify-fetch `apply` is told about the state it writes. */
export interface FetchedVersion {
  readonly id: string;
  /** Version of the fetched state: at least the notice's, newer if the authority moved on. */
  readonly version: number;
  /** Version the notice announced. */
  readonly noticeVersion: number;
  readonly updatedAt: string | undefined;
}

export interface NotifyFetchOptions<TState> {
  /** Client of the authority that owns `entityType`. */
  readonly client: PullClient;
  readonly entityType: string;
  /**
   * Writes the fetched state with `tx`, the consumer's open transaction. It may be called with
   * the same state (same `version`) for several notices of a burst, and must replace the local
   * copy as a whole (an upsert), which makes that harmless.
   */
  apply(tx: Sql, state: TState, entity: FetchedVersion, context: ApplyContext): Promise<void>;
  /**
   * Called for a tombstone. Without it a tombstone changes nothing locally (it still counts as
   * applied, so older notices that arrive later are skipped).
   */
  onDelete?(
    tx: Sql,
    entity: { readonly id: string; readonly version: number },
    context: ApplyContext,
  ): Promise<void>;
  /**
   * Called when the authority no longer has the entity a notice announced (it was deleted since;
   * its tombstone follows). Without it such a notice changes nothing locally.
   */
  onMissing?(
    tx: Sql,
    entity: { readonly id: string; readonly noticeVersion: number },
    context: ApplyContext,
  ): Promise<void>;
  /**
   * How long the first notice of an entity waits before fetching, so that notices handled at
   * the same moment (other partitions, other consumers sharing the client) join its fetch,
   * raising its `minVersion` to the highest among them (default 5 ms; 0 to fetch at once).
   */
  readonly debounceMs?: number;
  /**
   * How long a fetched state answers later notices it already covers (notice version ≤ fetched
   * version) without a new request (default 5,000 ms). Any covering state is correct for a
   * notice — it is at least as new as the change the notice announced, and every later change
   * sends a notice of its own — so the bound only limits how long a copy is trusted (a changed
   * projection at the authority, a missed tombstone). A burst of notices for one entity thus
   * costs about one fetch per time the authority got ahead of the consumer.
   */
  readonly collapseMs?: number;
}

interface Gather<TState> {
  minVersion: number;
  fired: boolean;
  promise: Promise<PulledEntity<TState>>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The consumer side of the `notify-fetch` strategy: an {@link EntityHandler} for thin notices
 * `(id, version)`. For each notice it fetches the entity from the authority with
 * `minVersion` = the notice's version and applies the state in the consumer's transaction; the
 * consumer runtime has already checked, by the notice's version, that the notice is newer than
 * what was applied. A fetch that fails throws, so the consumer retries the notice and, when its
 * attempts are spent, dead-letters it: a notice is never lost to an unavailable authority.
 *
 * The fetch runs while the consumer's transaction is open: keep the client's `timeoutMs` and
 * `retries` small next to the consumer's own retry policy.
 *
 * @example
 * ```ts
 * createConsumer({
 *   name: 'communications', db, backbone,
 *   handlers: {
 *     customer: notifyFetchHandler({
 *       client: profile, entityType: 'customer',
 *       apply: (tx, state, { id, version }) =>
 *         tx.query('INSERT INTO contacts … ON CONFLICT (id) DO UPDATE …', [id, version, state]),
 *     }),
 *   },
 * });
 * ```
 */
export function notifyFetchHandler<TState = unknown>(options: NotifyFetchOptions<TState>): EntityHandler {
  const { client, entityType } = options;
  const debounceMs = options.debounceMs ?? 5;
  const collapseMs = options.collapseMs ?? 5_000;
  for (const [name, value] of [
    ['debounceMs', debounceMs],
    ['collapseMs', collapseMs],
  ] as const) {
    if (typeof value !== 'number' || !(value >= 0))
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `notifyFetchHandler option ${name}: expected ms from 0, got ${String(value)}`,
        {
          context: { option: name },
        },
      );
  }
  if (typeof entityType !== 'string' || entityType === '')
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'notifyFetchHandler option entityType: expected an entity type',
      {
        context: { option: 'entityType' },
      },
    );
  const gathering = new Map<string, Gather<TState>>();

  /** A state of `id` at `version` or newer: a recent covering copy, a gathering fetch, or a new one. */
  function covering(id: string, version: number): Promise<PulledEntity<TState>> {
    const copy = client.cached<TState>(entityType, id, { minVersion: version, maxStalenessMs: collapseMs });
    if (copy) return Promise.resolve(copy);
    const open = gathering.get(id);
    if (open && !open.fired) {
      open.minVersion = Math.max(open.minVersion, version);
      return open.promise;
    }
    const gather = { minVersion: version, fired: false } as Gather<TState>;
    gather.promise = (async () => {
      if (debounceMs > 0) await sleep(debounceMs);
      gather.fired = true;
      try {
        return await client.get<TState>(entityType, id, {
          tier: 'bounded',
          minVersion: gather.minVersion,
          maxStalenessMs: collapseMs,
        });
      } finally {
        if (gathering.get(id) === gather) gathering.delete(id);
      }
    })();
    gathering.set(id, gather);
    return gather.promise;
  }

  return {
    kinds: ['notice', 'tombstone'],
    async apply(tx: Sql, event: Envelope, context: ApplyContext): Promise<void> {
      if (event.entitytype !== entityType) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `notify-fetch handler for '${entityType}' got a '${event.entitytype}' event; register one handler per entity type`,
          { retryable: false, context: { entityType, got: event.entitytype } },
        );
      }
      const id = event.entityid;
      if (event.eventkind === 'tombstone') {
        client.invalidate(entityType, id);
        await options.onDelete?.(tx, { id, version: event.entityversion }, context);
        return;
      }
      if (event.eventkind !== 'notice') return;
      let entity: PulledEntity<TState>;
      try {
        entity = await covering(id, event.entityversion);
      } catch (error) {
        if (!isTidemarkError(error, 'TM_ENTITY_NOT_FOUND')) throw error;
        await options.onMissing?.(tx, { id, noticeVersion: event.entityversion }, context);
        return;
      }
      await options.apply(
        tx,
        entity.state,
        { id, version: entity.version, noticeVersion: event.entityversion, updatedAt: entity.updatedAt },
        context,
      );
    },
  };
}

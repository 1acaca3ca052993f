/**
 * Wire types and limits shared by the authority's read API (server side) and the pull client.
 *
 * Wire format of one entity, as `GET /entities/:type/:id` answers it and as each element of a
 * `:batchGet` answer's `entities` list:
 *
 * ```json
 * { "type": "customer", "id": "c-1", "version": 7, "state": { … }, "updatedAt": "2025-…Z" }
 * ```
 */

/** One entity as the authority's reader returns it. */
export interface AuthorityRow {
  readonly id: string;
  /** The authority's current version of the entity: an integer from 1. */
  readonly version: number;
  /** The entity's current state, as JSON-serialisable data. */
  readonly state: unknown;
  /** When the authority last changed the entity (`Last-Modified`). */
  readonly updatedAt: Date | string;
}

/**
 * Reads the current state of the given entities of one type from the authority's own store.
 * Returns a row for each id that exists, in any order; ids that do not exist are left out.
 * Called with 1 to 100 distinct ids.
 */
export type EntityReader = (ids: string[]) => Promise<readonly AuthorityRow[]>;

/** An entity as it travels on the wire. */
export interface EntityDocument<TState = unknown> {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly state: TState;
  readonly updatedAt?: string;
}

/** An entity whose version is below the `minVersions` a batch asked for. */
export interface BehindEntity {
  readonly id: string;
  readonly currentVersion: number;
  readonly minVersion: number;
}

/** Answer of `POST /entities/:type:batchGet`. */
export interface BatchGetDocument<TState = unknown> {
  /** Found entities at or above their `minVersions`, in the order of the requested ids. */
  readonly entities: readonly EntityDocument<TState>[];
  /** Requested ids the authority does not have. */
  readonly missing: readonly string[];
  /** Entities that exist but are below the version asked for in `minVersions`. */
  readonly behind: readonly BehindEntity[];
}

/** Header a caller names itself with; field projection (`fields`) is looked up by it. */
export const consumerHeader = 'tidemark-consumer';

/** Most ids one `:batchGet` request may ask for. */
export const maxBatchIds = 100;

/** Largest entity version (the envelope's `entityversion` range). */
export const maxVersion = 2_147_483_647;

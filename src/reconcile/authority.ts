import { TidemarkError } from '../errors.js';
import type { Sql } from '../store/db.js';
import type { Topology } from '../topology/model.js';
import { scopeDigests, type ScopeDigests } from './store.js';

export interface AuthorityDigestOptions {
  /** The authority's Tidemark schema (where its outbox lives). */
  readonly schema?: string;
  readonly entityType: string;
  /** The authority context. */
  readonly context: string;
  /** Each flow of the type with the fields its consumer may hold. */
  readonly flows: readonly { readonly flow: string; readonly fields: readonly string[] }[];
}

/**
 * The authority's digests of one entity type, one scope per flow (each consumer may hold
 * other fields). Call `record` (or `forget` on delete) next to `producer.append`, in the same
 * transaction, with the entity's new full state.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   const { version } = await producer.append(tx, { type: 'customer', id }, event);
 *   await customerDigests.record(tx, id, version, newState);
 * });
 */
export interface AuthorityDigests {
  readonly scopes: readonly ScopeDigests[];
  record(tx: Sql, entityId: string, version: number, state: unknown): Promise<void>;
  forget(tx: Sql, entityId: string): Promise<void>;
  /** Stores each flow's description; call once at start-up (idempotent). */
  register(sql: Sql): Promise<void>;
}

export function authorityDigests(options: AuthorityDigestOptions): AuthorityDigests {
  if (options.flows.length === 0) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `authorityDigests for '${options.entityType}' got no flows; list each flow that copies the type ` +
        "with the fields its consumer may hold, e.g. flows: [{ flow: 'customer-to-billing', fields: ['name'] }]",
    );
  }
  const scopes = options.flows.map((f) =>
    scopeDigests('authority', {
      schema: options.schema,
      flow: f.flow,
      entityType: options.entityType,
      context: options.context,
      fields: f.fields,
    }),
  );
  return {
    scopes,
    async record(tx, entityId, version, state) {
      for (const scope of scopes) await scope.record(tx, entityId, version, state);
    },
    async forget(tx, entityId) {
      for (const scope of scopes) await scope.forget(tx, entityId);
    },
    async register(sql) {
      for (const scope of scopes) await scope.register(sql);
    },
  };
}

/** The flows of `entityType` that keep a copy (every strategy but pull), from the topology. */
export function copyingFlows(topology: Topology, entityType: string): string[] {
  return topology.flows
    .filter((f) => f.entityType === entityType && f.strategy !== 'pull')
    .map((f) => f.name);
}

import type { ApplyContext, EntityHandler } from '../consumer/types.js';
import { recordStages } from '../ledger/record.js';
import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { digestStatements, scopeDigests, type ScopeDigests } from './store.js';
import { repairEventType } from './repair-type.js';

export { repairEventType };

/** What the replica holds for one entity, read back from its projection after an apply. */
export interface ReplicaRow {
  readonly version: number;
  readonly state: unknown;
}

export interface ReplicaDigestOptions {
  /** The consumer's Tidemark schema (inbox, applied versions, ledger). */
  readonly schema?: string;
  /** Where the consumer records its ledger stages (default: `schema`). */
  readonly ledgerSchema?: string;
  readonly flow: string;
  readonly entityType: string;
  /** The consumer context. */
  readonly consumer: string;
  /** The fields the consumer may hold: the same list as the authority's for this flow. */
  readonly fields: readonly string[];
  /**
   * Reads the entity's row from the projection (through `context.table(...)`, so a rebuild's
   * shadow table is read while rebuilding); `undefined` when the projection has none.
   */
  read(tx: Sql, entityId: string, context: ApplyContext): Promise<ReplicaRow | undefined>;
}

export interface ReplicaDigests extends ScopeDigests {
  readonly ledgerSchema: string;
  read(tx: Sql, entityId: string, context: ApplyContext): Promise<ReplicaRow | undefined>;
}

/** Event type of the state and tombstone events a reconciliation applies as repairs. */

export function replicaDigests(options: ReplicaDigestOptions): ReplicaDigests {
  const scope = scopeDigests('replica', {
    schema: options.schema,
    flow: options.flow,
    entityType: options.entityType,
    context: options.consumer,
    fields: options.fields,
  });
  return {
    ...scope,
    ledgerSchema: quoteIdentifier(options.ledgerSchema ?? options.schema ?? 'tidemark', 'ledger schema name'),
    read: options.read,
  };
}

/**
 * Wraps the consumer's handler so that every apply also keeps the replica's digest, in the
 * apply's own transaction: after the handler wrote, the projection row is read back and its
 * allowed fields digested (what the projection really holds, not what the event said). A repair
 * applied by a reconciliation also records `reconciled` in the ledger, in that transaction.
 */
export function reconciledHandler<T>(handler: EntityHandler<T>, digests: ReplicaDigests): EntityHandler<T> {
  const repairType = repairEventType(digests.entityType);
  const confirm = digestStatements(digests.s).confirm;
  return {
    ...(handler.kinds ? { kinds: handler.kinds } : {}),
    async apply(tx, event, context) {
      await handler.apply(tx, event, context);
      if (event.entitytype !== digests.entityType) return;
      const row = await digests.read(tx, event.entityid, context);
      if (row) await digests.record(tx, event.entityid, row.version, row.state);
      else await digests.forget(tx, event.entityid);
      if (event.type === repairType && event.eventkind === 'state' && row?.version === event.entityversion) {
        await recordStages(tx, digests.ledgerSchema, [
          {
            entityType: event.entitytype,
            entityId: event.entityid,
            version: event.entityversion,
            context: digests.context,
            stage: 'reconciled',
            authority: event.authority,
            eventId: event.id,
            detail: { repair: true, ...(event.correlationid ? { run: event.correlationid } : {}) },
          },
        ]);
        // Confirmed here, so the next run need not read the row again to mark it.
        await tx.query(confirm, [digests.scope, event.entityid, event.entityversion]);
      }
    },
  };
}

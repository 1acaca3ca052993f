import type { EntityHandler } from '../../src/consumer/index.js';
import {
  authorityDigests,
  reconciledHandler,
  replicaDigests,
  type AuthorityDigests,
  type ReplicaDigests,
} from '../../src/reconcile/index.js';
import type { Sql } from '../../src/store/db.js';
import { quoteIdentifier } from '../../src/store/identifier.js';
import { AUTHORITY_CONTEXT, CONSUMER_GROUP, ENTITY_TYPE, POISON_REASON } from './config.js';

/**
 * The state both sides hold, so reconciliation has something to compare: the authority keeps
 * each account's running total next to its outbox (table `accounts`), the projector folds the
 * domain events into its own copy (table `balances`). Both record digests of `total` in the
 * transaction that changes it.
 */
export const FLOW = 'account-to-projector';
export const FIELDS = ['total'] as const;
export const AUTHORITY_TABLE = 'accounts';
export const PROJECTION_TABLE = 'balances';

export interface Balance {
  readonly total: number;
}

/** Thrown for a poison payload; not retryable, so the event goes to the DLQ at once. */
export class PoisonPayload extends Error {
  constructor(id: string) {
    super(`${POISON_REASON} (event ${id})`);
    this.name = 'PoisonPayload';
  }
}

export const tableDefinitions = (schema: string): string[] => {
  const s = quoteIdentifier(schema, 'schema name');
  return [AUTHORITY_TABLE, PROJECTION_TABLE].map(
    (table) =>
      `CREATE TABLE ${s}.${table} (id text PRIMARY KEY, version bigint NOT NULL, total bigint NOT NULL)`,
  );
};

export function ledgerDigests(schema: string): AuthorityDigests {
  return authorityDigests({
    schema,
    entityType: ENTITY_TYPE,
    context: AUTHORITY_CONTEXT,
    flows: [{ flow: FLOW, fields: [...FIELDS] }],
  });
}

export function projectorDigests(schema: string): ReplicaDigests {
  return replicaDigests({
    schema,
    flow: FLOW,
    entityType: ENTITY_TYPE,
    consumer: CONSUMER_GROUP,
    fields: [...FIELDS],
    async read(tx, id, context) {
      const row = (
        await tx.query<{ version: string; total: string }>(
          `SELECT version::text, total::text FROM ${context.table(PROJECTION_TABLE)} WHERE id = $1`,
          [id],
        )
      ).rows[0];
      return row && { version: Number(row.version), state: { total: Number(row.total) } };
    },
  });
}

/** The authority's side of one append: its running total and digest, in the append's transaction. */
export async function recordAuthority(
  tx: Sql,
  digests: AuthorityDigests,
  schema: string,
  id: string,
  version: number,
  amount: number,
): Promise<void> {
  const s = quoteIdentifier(schema, 'schema name');
  const total = (
    await tx.query<{ total: string }>(
      `INSERT INTO ${s}.${AUTHORITY_TABLE} AS a (id, version, total) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, total = a.total + EXCLUDED.total
       RETURNING total::text`,
      [id, version, amount],
    )
  ).rows[0]!.total;
  await digests.record(tx, id, version, { total: Number(total) });
}

/**
 * The projector: a domain event adds its amount to the balance and writes one row to the effect
 * log (the evidence verification reads); a state or tombstone event is a reconciliation repair
 * and sets or removes the balance without touching the effect log, which records domain effects only.
 */
export function projectorHandler(schema: string, digests: ReplicaDigests): EntityHandler {
  const effects = `${quoteIdentifier(schema, 'schema name')}.effects`;
  const handler: EntityHandler<{ poison?: boolean; amount?: number; total?: number }> = {
    kinds: ['domain', 'state', 'tombstone'],
    async apply(tx, event, context) {
      const balances = context.table(PROJECTION_TABLE);
      if (event.eventkind === 'tombstone') {
        await tx.query(`DELETE FROM ${balances} WHERE id = $1`, [event.entityid]);
        return;
      }
      if (event.eventkind === 'state') {
        await tx.query(
          `INSERT INTO ${balances} (id, version, total) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, total = EXCLUDED.total`,
          [event.entityid, event.entityversion, event.data?.total ?? 0],
        );
        return;
      }
      if (event.data?.poison) throw new PoisonPayload(event.id);
      // The effect log: independent evidence of what took effect, in which order, where.
      await tx.query(
        `INSERT INTO ${effects} (entity_id, version, event_id, worker) VALUES ($1, $2, $3, $4)`,
        [event.entityid, event.entityversion, event.id, process.pid],
      );
      await tx.query(
        `INSERT INTO ${balances} AS b (id, version, total) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, total = b.total + EXCLUDED.total`,
        [event.entityid, event.entityversion, event.data?.amount ?? 0],
      );
    },
  };
  return reconciledHandler(handler as EntityHandler, digests);
}

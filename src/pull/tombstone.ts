/**
 * What a consumer does with its copy of an entity when the authority deletes it (a tombstone),
 * the same for every strategy: state, domain and notice flows all end an entity with one.
 *
 * The consumer runtime already takes care of the events that come late: a tombstone is applied
 * like a state (newest wins), so the consumer remembers the tombstone's version, and any older
 * event of the entity that arrives afterwards — a redelivery, a reordered state, a stale notice
 * — is a duplicate and never reaches a handler (no resurrection). Held domain events up to the
 * tombstone's version are dropped with it. A *newer* event (the authority re-created the
 * entity) applies as usual.
 */
import type { ApplyContext, EntityHandler } from '../consumer/types.js';
import type { Envelope, EventKind } from '../envelope/types.js';
import { TidemarkError } from '../errors.js';
import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';

/** Values an anonymised column may be set to. */
export type AnonymousValue = string | number | boolean | null;

/**
 * - `delete`: remove the row (`DELETE … WHERE key = id`).
 * - `soft-delete`: keep the row and stamp `column` (default `deleted_at`, a timestamptz) with the
 *   time of deletion; a later re-creation of the entity clears it again.
 * - `anonymise`: keep the row (its key, and whatever the business must keep) and overwrite the
 *   personal fields listed in `set`.
 * - `ignore`: keep the copy as it is (an archive that must not forget); the deletion is still
 *   recorded, so older events stay skipped.
 *
 * `table` is one of the consumer's `projection.tables`; `key` the column holding the entity id
 * (default `id`).
 */
export type TombstonePolicy =
  | { readonly action: 'delete'; readonly table: string; readonly key?: string }
  | {
      readonly action: 'soft-delete';
      readonly table: string;
      readonly key?: string;
      readonly column?: string;
    }
  | {
      readonly action: 'anonymise';
      readonly table: string;
      readonly key?: string;
      readonly set: Readonly<Record<string, AnonymousValue>>;
    }
  | { readonly action: 'ignore' };

const actions = ['delete', 'soft-delete', 'anonymise', 'ignore'] as const;

function invalid(path: string, message: string): TidemarkError {
  return new TidemarkError('TM_INVALID_ARGUMENT', `withTombstonePolicy option ${path}: ${message}`, {
    context: { option: path },
  });
}

/** The statements a policy runs, built once from validated identifiers; the table is resolved per apply. */
function compile(policy: TombstonePolicy) {
  if (policy === null || typeof policy !== 'object' || !actions.includes(policy.action)) {
    throw invalid(
      'action',
      `expected one of ${actions.join(', ')}, got ${JSON.stringify((policy as { action?: unknown })?.action)}`,
    );
  }
  if (policy.action === 'ignore') return undefined;
  if (typeof policy.table !== 'string' || policy.table === '')
    throw invalid('table', 'expected the name of one of the consumer’s projection.tables');
  const key = quoteIdentifier(policy.key ?? 'id', 'withTombstonePolicy option key');
  switch (policy.action) {
    case 'delete':
      return { onDelete: (t: string) => ({ text: `DELETE FROM ${t} WHERE ${key} = $1`, values: [] }) };
    case 'soft-delete': {
      const column = quoteIdentifier(policy.column ?? 'deleted_at', 'withTombstonePolicy option column');
      return {
        onDelete: (t: string) => ({
          text: `UPDATE ${t} SET ${column} = now() WHERE ${key} = $1`,
          values: [],
        }),
        onLive: (t: string) => `UPDATE ${t} SET ${column} = NULL WHERE ${key} = $1 AND ${column} IS NOT NULL`,
      };
    }
    case 'anonymise': {
      const entries = Object.entries(policy.set ?? {});
      if (entries.length === 0) throw invalid('set', 'name at least one column to overwrite');
      const assignments = entries.map(([column, value], i) => {
        if (value !== null && !['string', 'number', 'boolean'].includes(typeof value))
          throw invalid(`set.${column}`, `expected a string, number, boolean or null, got ${typeof value}`);
        return `${quoteIdentifier(column, `withTombstonePolicy option set.${column}`)} = $${i + 2}`;
      });
      const values = entries.map(([, value]) => value);
      return {
        onDelete: (t: string) => ({
          text: `UPDATE ${t} SET ${assignments.join(', ')} WHERE ${key} = $1`,
          values,
        }),
      };
    }
  }
}

/**
 * Wraps `handler` so that tombstones of its entity type are applied by `policy` in the
 * consumer's transaction. The handler keeps every other event; it also sees the tombstone
 * after the policy ran if it takes tombstones itself (as `notifyFetchHandler` does, to drop its
 * cached copy) — then leave the deleting to the policy.
 *
 * @example
 * ```ts
 * handlers: {
 *   customer: withTombstonePolicy(customerHandler, {
 *     action: 'anonymise', table: 'customers', set: { name: null, email: null, address: '(erased)' },
 *   }),
 * }
 * ```
 */
export function withTombstonePolicy<TData>(
  handler: EntityHandler<TData>,
  policy: TombstonePolicy,
): EntityHandler<TData> {
  if (typeof handler?.apply !== 'function')
    throw invalid('handler', 'expected an entity handler (an object with apply)');
  const statements = compile(policy);
  const table = policy.action === 'ignore' ? undefined : policy.table;
  const takesTombstones = handler.kinds === undefined || handler.kinds.includes('tombstone');
  const kinds: readonly EventKind[] | undefined =
    handler.kinds && !takesTombstones ? [...handler.kinds, 'tombstone'] : handler.kinds;
  return {
    ...(kinds ? { kinds } : {}),
    async apply(tx: Sql, event: Envelope<TData>, context: ApplyContext): Promise<void> {
      if (event.eventkind !== 'tombstone') {
        await handler.apply(tx, event, context);
        // A newer event after a soft delete: the authority re-created the entity.
        if (statements?.onLive && table)
          await tx.query(statements.onLive(context.table(table)), [event.entityid]);
        return;
      }
      if (statements && table) {
        const { text, values } = statements.onDelete(context.table(table));
        await tx.query(text, [event.entityid, ...values]);
      }
      if (takesTombstones) await handler.apply(tx, event, context);
    },
  };
}

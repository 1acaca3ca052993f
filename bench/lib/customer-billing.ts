/**
 * The customer-to-billing estate that both `bench reconcile` and the reconciliation tests
 * (test/reconcile/estate.ts) run on: the profile context owns customers, billing keeps a copy
 * (projection `accounts`) through a real consumer, and both sides keep digests of the flow.
 * It lives under bench/lib so the tests can import it as they already import bench/lib, and the
 * benchmark measures exactly the wiring the tests prove correct.
 */
import { createPostgresLog } from '../../src/backbone/index.js';
import {
  createConsumer,
  type Consumer,
  type ConsumerOptions,
  type EntityHandler,
} from '../../src/consumer/index.js';
import {
  authorityDigests,
  reconciledHandler,
  replicaDigests,
  type AuthorityDigests,
  type ReplicaDigests,
  type StateSource,
} from '../../src/reconcile/index.js';
import type { Db } from '../../src/store/db.js';

export const flow = 'customer-to-billing';
export const fields = ['name', 'address'];

export interface Customer {
  readonly name: string;
  readonly address: string;
}

/** One side of the estate: a database and the Tidemark schema it uses. */
export interface Side {
  readonly db: Db;
  readonly schema: string;
}

export interface CustomerBilling {
  /** Quoted, schema-qualified name of the authority's `customers` table. */
  readonly customers: string;
  /** Quoted, schema-qualified name of billing's `accounts` table. */
  readonly accounts: string;
  readonly authorityDigests: AuthorityDigests;
  readonly replicaDigests: ReplicaDigests;
  readonly consumer: Consumer;
  /** Reads the authority's current state by key, for rehydrating repairs. */
  readonly source: StateSource;
  /** Ids whose billing handler writes a wrong address (a handler bug: divergent copies). */
  readonly buggy: Set<string>;
}

/** Both tables' shape; one place so the two sides can never disagree on columns. */
const customerTable = (table: string) =>
  `CREATE TABLE ${table} (id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL)`;

/** The state a row holds, in the shape digests and repairs compare. */
const stateOf = (row: { name: string; address: string; version: string } | undefined) =>
  row ? { version: Number(row.version), state: { name: row.name, address: row.address } } : undefined;

/**
 * Creates both tables, registers both sides' digests and wires the billing consumer.
 * `consumer` adds options to the consumer (retries, validation on receipt).
 */
export async function createCustomerBilling(
  authority: Side,
  replica: Side,
  consumer: Partial<Pick<ConsumerOptions, 'retry' | 'receive'>> = {},
): Promise<CustomerBilling> {
  const customers = `"${authority.schema}".customers`;
  const accounts = `"${replica.schema}".accounts`;
  await authority.db.query(customerTable(customers));
  await replica.db.query(customerTable(accounts));
  const authoritySide = authorityDigests({
    schema: authority.schema,
    entityType: 'customer',
    context: 'profile',
    flows: [{ flow, fields }],
  });
  await authoritySide.register(authority.db);
  const replicaSide = replicaDigests({
    schema: replica.schema,
    flow,
    entityType: 'customer',
    consumer: 'billing',
    fields,
    async read(tx, id, context) {
      const rows = await tx.query<{ name: string; address: string; version: string }>(
        `SELECT name, address, version::text FROM ${context.table('accounts')} WHERE id = $1`,
        [id],
      );
      return stateOf(rows.rows[0]);
    },
  });
  await replicaSide.register(replica.db);
  const buggy = new Set<string>();
  const handler: EntityHandler<Customer> = {
    kinds: ['state', 'tombstone'],
    async apply(tx, event, context) {
      const table = context.table('accounts');
      if (event.eventkind === 'tombstone') {
        await tx.query(`DELETE FROM ${table} WHERE id = $1`, [event.entityid]);
        return;
      }
      const data = event.data!;
      const address = buggy.has(event.entityid) ? data.address.toUpperCase() : data.address;
      await tx.query(
        `INSERT INTO ${table} (id, name, address, version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = $2, address = $3, version = $4`,
        [event.entityid, data.name, address, event.entityversion],
      );
    },
  };
  const billing = createConsumer({
    name: 'billing',
    db: replica.db,
    schema: replica.schema,
    backbone: await createPostgresLog({ db: replica.db, schema: replica.schema, partitions: 1 }),
    handlers: { customer: reconciledHandler(handler, replicaSide) },
    projection: { tables: ['accounts'] },
    ...consumer,
  });
  const source: StateSource = {
    async fetch(id) {
      const rows = await authority.db.query<{ name: string; address: string; version: string }>(
        `SELECT name, address, version::text FROM ${customers} WHERE id = $1`,
        [id],
      );
      return stateOf(rows.rows[0]);
    },
  };
  return {
    customers,
    accounts,
    authorityDigests: authoritySide,
    replicaDigests: replicaSide,
    consumer: billing,
    source,
    buggy,
  };
}

import type { EntityHandler } from '../consumer/types.js';
import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { notifyFetchHandler } from '../pull/notify-fetch.js';
import type { PullClient } from '../pull/client.js';
import type { EntityReader } from '../pull/wire.js';

/**
 * The insurer of the demo: Customer Profile owns customers; Billing keeps a full copy from
 * state events; Communications follows domain events. Each context has its own schema, as
 * it would have its own database.
 */
export const contexts = {
  profile: 'customer-profile',
  billing: 'billing',
  policy: 'policy',
  claims: 'claims',
  communications: 'communications',
} as const;

/** The domain event types Customer Profile publishes: typed, never a generic `CustomerUpdated`. */
export const customerEvents = {
  registered: 'CustomerRegistered',
  addressChanged: 'CustomerAddressChanged',
  riskAddressChanged: 'CustomerRiskAddressChanged',
} as const;

export interface Customer {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly version: number;
}

export interface CustomerRegistered {
  readonly name: string;
  readonly address: string;
}
export interface AddressChanged {
  readonly address: string;
  readonly previous: string;
}

/** The insured risk moved with the customer: underwriting must look at it. */
export interface RiskAddressChanged extends AddressChanged {
  readonly reason: string;
}
export type CustomerState = Omit<Customer, 'id' | 'version'>;

export async function createBusinessTables(
  db: Db,
  schemas: { profile: string; billing: string; policy: string; claims: string },
) {
  const p = quoteIdentifier(schemas.profile);
  const b = quoteIdentifier(schemas.billing);
  for (const schema of [schemas.policy, schemas.claims]) {
    await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(schema)}.insured_parties (
      customer_id text PRIMARY KEY, address text NOT NULL, version bigint NOT NULL)`);
  }
  await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(schemas.claims)}.investigations (
    customer_id text PRIMARY KEY, opened_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${p}.customers (
    id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${b}.billing_accounts (
    customer_id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL)`);
}

/** Communications keeps its contacts in its own database. */
export async function createContactsTable(db: Db, schema: string) {
  await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(schema)}.contacts (
    customer_id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now())`);
}

/** Customer Profile's read API answers with a customer's current state and version. */
export function customerReader(db: Db, profileSchema: string): EntityReader {
  const customers = `${quoteIdentifier(profileSchema)}.customers`;
  return async (ids) =>
    (
      await db.query<{ id: string; name: string; address: string; version: number; updated_at: Date }>(
        `SELECT id, name, address, version, updated_at FROM ${customers} WHERE id = ANY($1::text[])`,
        [ids],
      )
    ).rows.map((r) => ({
      id: r.id,
      version: Number(r.version),
      state: { name: r.name, address: r.address } satisfies CustomerState,
      updatedAt: r.updated_at,
    }));
}

/** Billing replaces its copy with the newest state (event-carried state transfer). */
export const billingTables = ['billing_accounts'] as const;

/**
 * Billing keeps a full copy from state events; a changed address is used from the next billing
 * cycle, so the ledger records the change as deferred until then.
 */
export function billingHandler(nextCycle?: (after: Date) => Date): EntityHandler<CustomerState> {
  return {
    kinds: ['state', 'tombstone'],
    async apply(tx: Sql, event, context) {
      if (nextCycle && event.entityversion > 1) {
        context.defer(nextCycle(new Date(event.time)), { calendar: 'next-billing-cycle' });
      }
      const accounts = context.table('billing_accounts');
      if (event.eventkind === 'tombstone') {
        await tx.query(`DELETE FROM ${accounts} WHERE customer_id = $1`, [event.entityid]);
        return;
      }
      const state = event.data!;
      await tx.query(
        `INSERT INTO ${accounts} (customer_id, name, address, version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id) DO UPDATE SET name = $2, address = $3, version = $4`,
        [event.entityid, state.name, state.address, event.entityversion],
      );
    },
  };
}

/**
 * Communications is told only that a customer changed (a thin notice) and fetches the current
 * state from Customer Profile's read API, so it never holds more than it needs and always the newest.
 */
export const communicationsTables = ['contacts'] as const;

export function communicationsHandler(client: PullClient): EntityHandler {
  return notifyFetchHandler<CustomerState>({
    client,
    entityType: 'customer',
    async apply(tx, state, { id, version }, context) {
      await tx.query(
        `INSERT INTO ${context.table('contacts')} AS c (customer_id, name, address, version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id) DO UPDATE SET name = $2, address = $3, version = $4, fetched_at = now()
         WHERE c.version <= $4`,
        [id, state.name, state.address, version],
      );
    },
  });
}

/** Policy and Claims keep the insured party's address; they react to what happened. */
export const insuredTables = ['insured_parties'] as const;

async function keepAddress(
  tx: Sql,
  table: string,
  event: { entityid: string; entityversion: number },
  address: string,
) {
  await tx.query(
    `INSERT INTO ${table} (customer_id, address, version) VALUES ($1, $2, $3)
     ON CONFLICT (customer_id) DO UPDATE SET address = $2, version = $3`,
    [event.entityid, address, event.entityversion],
  );
}

/** Policy holds a change of risk address for underwriting review; the review records the outcome. */
export function policyHandler(): EntityHandler<CustomerRegistered | RiskAddressChanged> {
  return {
    kinds: ['domain'],
    async apply(tx, event, context) {
      await keepAddress(tx, context.table('insured_parties'), event, event.data!.address);
      if (event.type === customerEvents.riskAddressChanged) {
        context.hold('under-review', { reason: (event.data as RiskAddressChanged).reason });
      }
    },
  };
}

/** Claims takes every change, but none is in effect while an investigation is open on the customer. */
export function claimsHandler(claimsSchema: string): EntityHandler<CustomerRegistered | AddressChanged> {
  const investigations = `${quoteIdentifier(claimsSchema)}.investigations`;
  return {
    kinds: ['domain'],
    async apply(tx, event, context) {
      await keepAddress(tx, context.table('insured_parties'), event, event.data!.address);
      const open = await tx.query(`SELECT 1 FROM ${investigations} WHERE customer_id = $1`, [event.entityid]);
      if (open.rows.length > 0) context.block('investigation open', { condition: 'investigation-open' });
    },
  };
}

import type { EntityHandler } from '../consumer/types.js';
import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';

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
  schemas: { profile: string; billing: string; comms: string; policy: string; claims: string },
) {
  const p = quoteIdentifier(schemas.profile);
  const b = quoteIdentifier(schemas.billing);
  const c = quoteIdentifier(schemas.comms);
  for (const schema of [schemas.policy, schemas.claims]) {
    await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(schema)}.insured_parties (
      customer_id text PRIMARY KEY, address text NOT NULL, version bigint NOT NULL)`);
  }
  await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(schemas.claims)}.investigations (
    customer_id text PRIMARY KEY, opened_at timestamptz NOT NULL DEFAULT now())`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${p}.customers (
    id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL)`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${b}.billing_accounts (
    customer_id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL)`);
  await db.query(`CREATE TABLE IF NOT EXISTS ${c}.contacts (
    customer_id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL,
    address_changes integer NOT NULL DEFAULT 0)`);
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

/** Communications reacts to what happened: registrations and address changes, in order. */
export const communicationsTables = ['contacts'] as const;

export function communicationsHandler(): EntityHandler<CustomerRegistered | AddressChanged> {
  const changes: readonly string[] = [customerEvents.addressChanged, customerEvents.riskAddressChanged];
  return {
    kinds: ['domain'],
    async apply(tx: Sql, event, context) {
      const contacts = context.table('contacts');
      if (event.type === customerEvents.registered) {
        const data = event.data as CustomerRegistered;
        await tx.query(
          `INSERT INTO ${contacts} (customer_id, name, address, version) VALUES ($1, $2, $3, $4)`,
          [event.entityid, data.name, data.address, event.entityversion],
        );
        return;
      }
      if (changes.includes(event.type)) {
        const data = event.data as AddressChanged;
        const updated = await tx.query(
          `UPDATE ${contacts} SET address = $2, version = $3, address_changes = address_changes + 1
           WHERE customer_id = $1`,
          [event.entityid, data.address, event.entityversion],
        );
        if (updated.rowCount !== 1) throw new Error(`no contact ${event.entityid} to change the address of`);
        return;
      }
      throw new Error(`communications does not understand ${event.type}`);
    },
  };
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

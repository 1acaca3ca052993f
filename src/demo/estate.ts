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
  communications: 'communications',
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
export type CustomerState = Omit<Customer, 'id' | 'version'>;

export async function createBusinessTables(
  db: Db,
  schemas: { profile: string; billing: string; comms: string },
) {
  const p = quoteIdentifier(schemas.profile);
  const b = quoteIdentifier(schemas.billing);
  const c = quoteIdentifier(schemas.comms);
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

export function billingHandler(): EntityHandler<CustomerState> {
  return {
    kinds: ['state', 'tombstone'],
    async apply(tx: Sql, event, context) {
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
  return {
    kinds: ['domain'],
    async apply(tx: Sql, event, context) {
      const contacts = context.table('contacts');
      if (event.type === 'CustomerRegistered') {
        const data = event.data as CustomerRegistered;
        await tx.query(
          `INSERT INTO ${contacts} (customer_id, name, address, version) VALUES ($1, $2, $3, $4)`,
          [event.entityid, data.name, data.address, event.entityversion],
        );
        return;
      }
      if (event.type === 'AddressChanged') {
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

import type { Consumer } from '../../src/consumer/index.js';
import type { ReceiveOptions } from '../../src/consumer/validate-on-receipt.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { createProducer, registerAuthority, type Producer } from '../../src/producer/index.js';
import {
  createReconciler,
  type AuthorityDigests,
  type ReconcilerOptions,
  type ReplicaDigests,
  type StateSource,
} from '../../src/reconcile/index.js';
import { createCustomerBilling, flow, type Customer } from '../../bench/lib/customer-billing.js';
import type { TestDb } from '../support/services.js';

export { fields, flow, type Customer } from '../../bench/lib/customer-billing.js';

/**
 * A small two-context estate for reconciliation: the profile context owns customers (its own
 * table, outbox and digests) and billing keeps a copy (projection `accounts`) through a real
 * consumer. Delivery is `consumer.handle`, so a test decides which events arrive: an event it
 * does not deliver is drift. Authority and replica may be two databases.
 */
export interface Estate {
  readonly authority: TestDb;
  readonly replica: TestDb;
  readonly producer: Producer;
  readonly consumer: Consumer;
  readonly authorityDigests: AuthorityDigests;
  readonly replicaDigests: ReplicaDigests;
  readonly source: StateSource;
  /** Ids whose billing handler writes a wrong address (a handler bug: divergent copies). */
  readonly buggy: Set<string>;
  write(id: string, customer: Customer): Promise<Envelope>;
  remove(id: string): Promise<Envelope>;
  deliver(envelope: Envelope): Promise<void>;
  authorityRows(): Promise<Map<string, string>>;
  replicaRows(): Promise<Map<string, string>>;
  reconciler(options?: Partial<ReconcilerOptions>): ReturnType<typeof createReconciler>;
}

/** A consumer that validates on receipt, and the schema version the estate's events name. */
export interface EstateOptions {
  readonly receive?: ReceiveOptions;
  readonly schemaVersion?: number;
}

export async function createEstate(
  authority: TestDb,
  replica: TestDb,
  estateOptions: EstateOptions = {},
): Promise<Estate> {
  const billing = await createCustomerBilling(authority, replica, {
    retry: { attempts: 1 },
    ...(estateOptions.receive ? { receive: estateOptions.receive } : {}),
  });
  const { customers, accounts, consumer, source } = billing;
  const digests = billing.authorityDigests;
  await registerAuthority(authority.db, { entityType: 'customer', context: 'profile' }, authority.schema);
  const producer = createProducer({ context: 'profile', schema: authority.schema, notify: false });
  const envelopeOf = (
    kind: 'state' | 'tombstone',
    id: string,
    version: number,
    eventId: string,
    data?: Customer,
  ) =>
    createEnvelope({
      kind,
      authority: 'profile',
      entityType: 'customer',
      entityId: id,
      entityVersion: version,
      id: eventId,
      ...(data ? { data } : {}),
      ...(estateOptions.schemaVersion ? { schemaVersion: estateOptions.schemaVersion } : {}),
    });
  const rows = async (db: TestDb['db'], table: string) =>
    new Map(
      (
        await db.query<{ id: string; name: string; address: string; version: string }>(
          `SELECT id, name, address, version::text FROM ${table} ORDER BY id`,
        )
      ).rows.map((x) => [x.id, `${x.version}:${x.name}:${x.address}`]),
    );
  return {
    authority,
    replica,
    producer,
    consumer,
    authorityDigests: digests,
    replicaDigests: billing.replicaDigests,
    source,
    buggy: billing.buggy,
    write: (id, customer) =>
      authority.db.transaction(async (tx) => {
        const appended = await producer.append(
          tx,
          { type: 'customer', id },
          { kind: 'state', data: customer },
        );
        await tx.query(
          `INSERT INTO ${customers} (id, name, address, version) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET name = $2, address = $3, version = $4`,
          [id, customer.name, customer.address, appended.version],
        );
        await digests.record(tx, id, appended.version, customer);
        return envelopeOf('state', id, appended.version, appended.eventId, customer);
      }),
    remove: (id) =>
      authority.db.transaction(async (tx) => {
        const appended = await producer.append(tx, { type: 'customer', id }, { kind: 'tombstone' });
        await tx.query(`DELETE FROM ${customers} WHERE id = $1`, [id]);
        await digests.forget(tx, id);
        return envelopeOf('tombstone', id, appended.version, appended.eventId);
      }),
    async deliver(envelope) {
      const outcomes = await consumer.handle(envelope);
      const bad = outcomes.find((o) => o.kind === 'dead-lettered');
      if (bad) throw new Error(`delivery dead-lettered: ${bad.reason}`);
    },
    authorityRows: () => rows(authority.db, customers),
    replicaRows: () => rows(replica.db, accounts),
    reconciler: (options = {}) =>
      createReconciler({
        flow,
        authority: { db: authority.db, schema: authority.schema },
        replica: { db: replica.db, schema: replica.schema },
        repair: 'rehydrate',
        source,
        consumer,
        producer,
        settleMs: 0,
        ...options,
      }),
  };
}

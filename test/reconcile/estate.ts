import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer, type EntityHandler } from '../../src/consumer/index.js';
import type { ReceiveOptions } from '../../src/consumer/validate-on-receipt.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import { createProducer, registerAuthority, type Producer } from '../../src/producer/index.js';
import {
  authorityDigests,
  createReconciler,
  reconciledHandler,
  replicaDigests,
  type AuthorityDigests,
  type ReconcilerOptions,
  type ReplicaDigests,
  type StateSource,
} from '../../src/reconcile/index.js';
import type { TestDb } from '../support/services.js';

export const flow = 'customer-to-billing';
export const fields = ['name', 'address'];

export interface Customer {
  readonly name: string;
  readonly address: string;
}

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
  const a = `"${authority.schema}"`;
  const r = `"${replica.schema}"`;
  await authority.db.query(
    `CREATE TABLE ${a}.customers (id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL)`,
  );
  await replica.db.query(
    `CREATE TABLE ${r}.accounts (id text PRIMARY KEY, name text NOT NULL, address text NOT NULL, version bigint NOT NULL)`,
  );
  await registerAuthority(authority.db, { entityType: 'customer', context: 'profile' }, authority.schema);
  const producer = createProducer({ context: 'profile', schema: authority.schema, notify: false });
  const digests = authorityDigests({
    schema: authority.schema,
    entityType: 'customer',
    context: 'profile',
    flows: [{ flow, fields }],
  });
  await digests.register(authority.db);
  const replicaSide = replicaDigests({
    schema: replica.schema,
    flow,
    entityType: 'customer',
    consumer: 'billing',
    fields,
    async read(tx, id, context) {
      const row = (
        await tx.query<{ name: string; address: string; version: string }>(
          `SELECT name, address, version::text FROM ${context.table('accounts')} WHERE id = $1`,
          [id],
        )
      ).rows[0];
      return row
        ? { version: Number(row.version), state: { name: row.name, address: row.address } }
        : undefined;
    },
  });
  await replicaSide.register(replica.db);
  const buggy = new Set<string>();
  const handler: EntityHandler<Customer> = {
    kinds: ['state', 'tombstone'],
    async apply(tx, event, context) {
      const accounts = context.table('accounts');
      if (event.eventkind === 'tombstone') {
        await tx.query(`DELETE FROM ${accounts} WHERE id = $1`, [event.entityid]);
        return;
      }
      const data = event.data!;
      const address = buggy.has(event.entityid) ? data.address.toUpperCase() : data.address;
      await tx.query(
        `INSERT INTO ${accounts} (id, name, address, version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = $2, address = $3, version = $4`,
        [event.entityid, data.name, address, event.entityversion],
      );
    },
  };
  const backbone = await createPostgresLog({ db: replica.db, schema: replica.schema, partitions: 1 });
  const consumer = createConsumer({
    name: 'billing',
    db: replica.db,
    schema: replica.schema,
    backbone,
    handlers: { customer: reconciledHandler(handler, replicaSide) },
    projection: { tables: ['accounts'] },
    retry: { attempts: 1 },
    ...(estateOptions.receive ? { receive: estateOptions.receive } : {}),
  });
  const source: StateSource = {
    async fetch(id) {
      const row = (
        await authority.db.query<{ name: string; address: string; version: string }>(
          `SELECT name, address, version::text FROM ${a}.customers WHERE id = $1`,
          [id],
        )
      ).rows[0];
      return row
        ? { version: Number(row.version), state: { name: row.name, address: row.address } }
        : undefined;
    },
  };
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
    replicaDigests: replicaSide,
    source,
    buggy,
    write: (id, customer) =>
      authority.db.transaction(async (tx) => {
        const appended = await producer.append(
          tx,
          { type: 'customer', id },
          { kind: 'state', data: customer },
        );
        await tx.query(
          `INSERT INTO ${a}.customers (id, name, address, version) VALUES ($1, $2, $3, $4)
           ON CONFLICT (id) DO UPDATE SET name = $2, address = $3, version = $4`,
          [id, customer.name, customer.address, appended.version],
        );
        await digests.record(tx, id, appended.version, customer);
        return envelopeOf('state', id, appended.version, appended.eventId, customer);
      }),
    remove: (id) =>
      authority.db.transaction(async (tx) => {
        const appended = await producer.append(tx, { type: 'customer', id }, { kind: 'tombstone' });
        await tx.query(`DELETE FROM ${a}.customers WHERE id = $1`, [id]);
        await digests.forget(tx, id);
        return envelopeOf('tombstone', id, appended.version, appended.eventId);
      }),
    async deliver(envelope) {
      const outcomes = await consumer.handle(envelope);
      const bad = outcomes.find((o) => o.kind === 'dead-lettered');
      if (bad) throw new Error(`delivery dead-lettered: ${bad.reason}`);
    },
    authorityRows: () => rows(authority.db, `${a}.customers`),
    replicaRows: () => rows(replica.db, `${r}.accounts`),
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

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer, type EntityHandler } from '../../src/consumer/index.js';
import { createEnvelope, type Envelope } from '../../src/envelope/index.js';
import type { EventKind } from '../../src/envelope/types.js';
import {
  createPullClient,
  notifyFetchHandler,
  withTombstonePolicy,
  type PullClient,
  type TombstonePolicy,
} from '../../src/pull/index.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { getsOf, startAuthority, type TestAuthority } from './authority.js';

/**
 * Tombstones in every strategy (state, domain, notice), with each policy a consumer can choose,
 * and what happens to the events of a deleted entity that arrive late.
 */

const kinds = await databaseKinds();

interface Customer {
  readonly name: string;
  readonly address: string;
}

const event = (kind: EventKind, version: number, data?: Customer): Envelope<Customer> =>
  createEnvelope({
    kind,
    ...(kind === 'domain' ? { type: 'CustomerChanged' } : {}),
    authority: 'profile',
    entityType: 'customer',
    entityId: 'c-1',
    entityVersion: version,
    ...(data ? { data } : {}),
  });

const customer = (version: number): Customer => ({ name: `Ada ${version}`, address: `${version} Quay` });

describe.each(kinds)('tombstones on $name', (kind) => {
  let t: TestDb;
  let consumer: Consumer | undefined;
  let handled: number[];

  beforeEach(async () => {
    t = await kind.open();
    await t.db.query(
      `CREATE TABLE "${t.schema}".customers (
         id text PRIMARY KEY, name text, address text, version int NOT NULL, deleted_at timestamptz)`,
    );
    handled = [];
  });
  afterEach(async () => {
    await consumer?.stop();
    consumer = undefined;
    await t.cleanup();
  });

  /** Writes the event's data as the whole copy: a state handler, or a domain one whose events carry the new values. */
  const upsert = (eventKinds: EventKind[]): EntityHandler<Customer> => ({
    kinds: eventKinds,
    async apply(tx, e, context) {
      handled.push(e.entityversion);
      await tx.query(
        `INSERT INTO ${context.table('customers')} (id, name, address, version) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, version = EXCLUDED.version`,
        [e.entityid, e.data!.name, e.data!.address, e.entityversion],
      );
    },
  });

  async function open(handler: EntityHandler<Customer>): Promise<Consumer> {
    consumer = createConsumer({
      name: 'billing',
      db: t.db,
      schema: t.schema,
      backbone: await createPostgresLog({ db: t.db, schema: t.schema, partitions: 1 }),
      projection: { tables: ['customers'] },
      retry: { attempts: 1 },
      handlers: { customer: handler },
    });
    return consumer;
  }

  const rows = async () =>
    (
      await t.db.query<{ name: string | null; address: string | null; version: number; deleted: boolean }>(
        `SELECT name, address, version, deleted_at IS NOT NULL AS deleted FROM "${t.schema}".customers`,
      )
    ).rows.map((r) => ({ ...r, version: Number(r.version) }));

  it('state flow, delete: the row goes, a late older state does not bring it back, a newer one does', async () => {
    const c = await open(withTombstonePolicy(upsert(['state']), { action: 'delete', table: 'customers' }));
    await c.handle(event('state', 1, customer(1)));
    await c.handle(event('state', 2, customer(2)));

    const deleted = await c.handle(event('tombstone', 3));
    expect(deleted.map((o) => o.kind)).toEqual(['applied']);
    expect(await rows()).toEqual([]);
    expect(await c.appliedVersion('customer', 'c-1')).toBe(3);

    // A reordered older state arrives after the deletion: skipped, no resurrection
    const late = await c.handle(event('state', 2, customer(2)));
    expect(late.map((o) => o.kind)).toEqual(['duplicate']);
    expect(await rows()).toEqual([]);

    // The authority re-creates the entity: a newer state applies
    await c.handle(event('state', 4, customer(4)));
    expect(await rows()).toEqual([{ name: 'Ada 4', address: '4 Quay', version: 4, deleted: false }]);
    expect(handled).toEqual([1, 2, 4]);
  });

  it('domain flow, anonymise: personal fields are overwritten, held events up to the tombstone are dropped, late events skipped', async () => {
    const c = await open(
      withTombstonePolicy(upsert(['domain']), {
        action: 'anonymise',
        table: 'customers',
        set: { name: null, address: '(erased)' },
      }),
    );
    await c.handle(event('domain', 1, customer(1)));
    // Version 2 is lost on the way; 3 waits for it
    expect((await c.handle(event('domain', 3, customer(3)))).map((o) => o.kind)).toEqual(['held']);

    await c.handle(event('tombstone', 4));
    expect(await rows()).toEqual([{ name: null, address: '(erased)', version: 1, deleted: false }]);
    expect(await c.heldCount()).toBe(0);

    const late = [
      ...(await c.handle(event('domain', 2, customer(2)))),
      ...(await c.handle(event('domain', 3, customer(3)))),
    ];
    expect(late.map((o) => o.kind)).toEqual(['duplicate', 'duplicate']);
    expect(handled).toEqual([1]);
    expect(await rows()).toEqual([{ name: null, address: '(erased)', version: 1, deleted: false }]);
  });

  it('ignore: the copy stays as it was, and older events are still skipped', async () => {
    const c = await open(withTombstonePolicy(upsert(['state']), { action: 'ignore' }));
    await c.handle(event('state', 1, customer(1)));
    expect((await c.handle(event('tombstone', 2))).map((o) => o.kind)).toEqual(['applied']);
    expect(await rows()).toEqual([{ name: 'Ada 1', address: '1 Quay', version: 1, deleted: false }]);
    expect((await c.handle(event('state', 1, customer(1)))).map((o) => o.kind)).toEqual(['duplicate']);
    expect(await c.appliedVersion('customer', 'c-1')).toBe(2);
  });

  describe('notice flow against a real read API', () => {
    let authority: TestAuthority;
    let client: PullClient;
    beforeEach(async () => {
      authority = await startAuthority();
      client = createPullClient({ baseUrl: authority.baseUrl, consumer: 'billing', retries: 0 });
    });
    afterEach(async () => {
      await consumer?.stop();
      consumer = undefined;
      client.close();
      await authority.close();
    });

    it('soft-delete: the row is kept and stamped, a stale notice fetches nothing, a re-creation makes it live again', async () => {
      const fetched = notifyFetchHandler<Customer>({
        client,
        entityType: 'customer',
        debounceMs: 0,
        async apply(tx, state, entity, context) {
          handled.push(entity.version);
          await tx.query(
            `INSERT INTO ${context.table('customers')} (id, name, address, version) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, version = EXCLUDED.version`,
            [entity.id, state.name, state.address, entity.version],
          );
        },
      });
      const c = await open(
        withTombstonePolicy(fetched as EntityHandler<Customer>, {
          action: 'soft-delete',
          table: 'customers',
        }),
      );
      authority.write('c-1', customer(1));
      await c.handle(event('notice', 1));
      authority.remove('c-1');
      await c.handle(event('tombstone', 2));
      expect(await rows()).toEqual([{ name: 'Ada 1', address: '1 Quay', version: 1, deleted: true }]);
      // The tombstone also dropped the client's cached copy
      expect(client.cached('customer', 'c-1')).toBeUndefined();

      const requestsBefore = getsOf(authority, 'customer', 'c-1').length;
      expect((await c.handle(event('notice', 1))).map((o) => o.kind)).toEqual(['duplicate']);
      expect(getsOf(authority, 'customer', 'c-1')).toHaveLength(requestsBefore);

      authority.put('c-1', 3, customer(3));
      await c.handle(event('notice', 3));
      expect(await rows()).toEqual([{ name: 'Ada 3', address: '3 Quay', version: 3, deleted: false }]);
      expect(handled).toEqual([1, 3]);
    });
  });
});

describe('tombstone policy options', () => {
  const handler: EntityHandler = { apply: async () => {} };
  const cases: [string, unknown, RegExp][] = [
    [
      'an unknown action',
      { action: 'purge', table: 'customers' },
      /option action: expected one of delete, soft-delete, anonymise, ignore, got "purge"/,
    ],
    [
      'no table',
      { action: 'delete' },
      /option table: expected the name of one of the consumer’s projection.tables/,
    ],
    [
      'an empty anonymise set',
      { action: 'anonymise', table: 'customers', set: {} },
      /option set: name at least one column/,
    ],
    [
      'an object value',
      { action: 'anonymise', table: 'customers', set: { name: {} } },
      /option set.name: expected a string, number, boolean or null, got object/,
    ],
    [
      'a bad column name',
      { action: 'soft-delete', table: 'customers', column: 'deleted at; drop' },
      /column/,
    ],
  ];
  it.each(cases)('refuses %s, naming the option', (_what, policy, message) => {
    expect(() => withTombstonePolicy(handler, policy as TombstonePolicy)).toThrow(message);
  });

  it('takes tombstones in addition to the kinds of the wrapped handler', () => {
    expect(
      withTombstonePolicy({ kinds: ['state'], apply: async () => {} }, { action: 'ignore' }).kinds,
    ).toEqual(['state', 'tombstone']);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databaseKinds } from '../support/both-databases.js';
import { serverDb, uniqueSchema, type TestDb } from '../support/services.js';
import { createProducer, registerAuthority } from '../../src/producer/index.js';
import { createRelay, type Relay } from '../../src/relay/index.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer, type Consumer } from '../../src/consumer/index.js';
import { createDeadLetterAdmin } from '../../src/dlq/index.js';
import { migrate } from '../../src/store/migrate.js';
import {
  createLedger,
  createLedgerCollector,
  reportingLedgerSink,
  stageRank,
  stageReportEvent,
  stageReportType,
  type TimelineEntry,
} from '../../src/ledger/index.js';

const kinds = await databaseKinds();
const authority = 'customer-profile';
const timing = { heartbeatMs: 200, pollMs: 20, retryBaseMs: 5, retryMaxMs: 20 };

/**
 * Profile (the authority) and Billing each have their own Tidemark schema, as they would have
 * their own databases. Billing reports its stages back through its own outbox, relay and log;
 * the authority's collector records them. Policy shares the authority's schema and writes its
 * stages there directly.
 */
describe.each(kinds)('ledger along the whole path on $name', (kind) => {
  let t: TestDb;
  let billingSchema: string;
  const running: { stop(): Promise<void> }[] = [];
  let relays: Relay[];
  let billing: Consumer;
  let policy: Consumer;
  let collector: Consumer;

  beforeEach(async () => {
    // Three consumers, two relays and two logs each hold listening connections: a larger pool.
    t = kind.concurrent ? await serverDb({ max: 40 }) : await kind.open();
    billingSchema = uniqueSchema('billing');
    await migrate(t.db, billingSchema);
    await registerAuthority(t.db, { entityType: 'customer', context: authority }, t.schema);
    await registerAuthority(t.db, { entityType: stageReportType, context: 'billing' }, billingSchema);
    const profileLog = await createPostgresLog({ db: t.db, schema: t.schema, partitions: 4, timing });
    const billingLog = await createPostgresLog({ db: t.db, schema: billingSchema, partitions: 2, timing });
    relays = [
      createRelay({ db: t.db, backbone: profileLog, schema: t.schema, pollMs: 20 }),
      createRelay({ db: t.db, backbone: billingLog, schema: billingSchema, pollMs: 20 }),
    ];
    billing = createConsumer({
      name: 'billing',
      db: t.db,
      schema: billingSchema,
      backbone: profileLog,
      ledger: reportingLedgerSink({
        context: 'billing',
        schema: billingSchema,
        producer: createProducer({ context: 'billing', schema: billingSchema }),
      }),
      handlers: { customer: { async apply() {} } },
    });
    policy = createConsumer({
      name: 'policy',
      db: t.db,
      schema: t.schema,
      backbone: profileLog,
      handlers: {
        customer: {
          async apply(_tx, event, context) {
            if ((event.data as { risk?: boolean }).risk)
              context.hold('under-review', { reason: 'risk address moved' });
          },
        },
      },
    });
    collector = createLedgerCollector({ db: t.db, schema: t.schema, backbone: billingLog });
    for (const relay of relays) await relay.start();
    for (const c of [billing, policy, collector]) await c.start();
    running.push(...relays, billing, policy, collector);
  });
  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop();
    await t.db.query(`DROP SCHEMA IF EXISTS "${billingSchema}" CASCADE`);
    await t.cleanup();
  });

  const change = (id: string, data: Record<string, unknown>) =>
    t.db.transaction((tx) =>
      createProducer({ context: authority, schema: t.schema }).append(
        tx,
        { type: 'customer', id },
        { kind: 'domain', type: 'CustomerAddressChanged', data },
      ),
    );

  it('every applied event has every stage, in order, in the authority ledger — consumer stages reported over the backbone', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    for (let v = 1; v <= 3; v++) for (const id of ids) await change(id, { v });
    const ledger = createLedger({ db: t.db, schema: t.schema });
    const complete = async (id: string) => {
      const timeline = await ledger.timeline('customer', id);
      return [1, 2, 3].every((v) =>
        ['billing', 'policy'].every((c) =>
          timeline.some((e) => e.version === v && e.context === c && e.stage === 'applied'),
        ),
      );
    };
    for (const id of ids) await expect.poll(() => complete(id), { timeout: 20_000 }).toBe(true);
    for (const id of ids) {
      const timeline = await ledger.timeline('customer', id);
      for (let v = 1; v <= 3; v++) {
        for (const context of ['billing', 'policy']) {
          const path: TimelineEntry[] = [
            ...timeline.filter((e) => e.version === v && e.context === authority),
            ...timeline.filter((e) => e.version === v && e.context === context),
          ];
          expect(path.map((e) => e.stage)).toEqual(['accepted', 'published', 'delivered', 'applied']);
          const times = path.map((e) => Date.parse(e.at));
          expect(times).toEqual([...times].sort((x, y) => x - y));
          expect(path.map((e) => stageRank(e.stage))).toEqual(
            path.map((e) => stageRank(e.stage)).sort((x, y) => x - y),
          );
          const applied = path.at(-1)!;
          expect(applied.eventId).toBe(path[0]!.eventId);
          expect(applied.eventTime).toBe(path[0]!.eventTime);
        }
      }
    }
  });

  it('a hold shows in status and readiness until the context records the outcome', async () => {
    await change('r', { risk: true });
    const ledger = createLedger({ db: t.db, schema: t.schema });
    await expect
      .poll(async () => (await ledger.status('customer', 'r')).summary, { timeout: 20_000 })
      .toMatch(/policy holds it: under-review \(risk address moved\)/);
    await t.db.transaction((tx) =>
      policy.recordStage(tx, { entityType: 'customer', entityId: 'r', version: 1, stage: 'applied' }),
    );
    const status = await ledger.status('customer', 'r');
    expect(status.versions[0]!.contexts.find((c) => c.context === 'policy')!.stage).toBe('applied');
    await expect(
      t.db.transaction((tx) =>
        policy.recordStage(tx, { entityType: 'customer', entityId: 'never', version: 1, stage: 'applied' }),
      ),
    ).rejects.toThrow(/never received customer\/never version 1/);
  });

  it('refuses a stage report that speaks for another context, and dead-letters it with the reason', async () => {
    const forger = createProducer({ context: 'billing', schema: billingSchema });
    await t.db.transaction((tx) =>
      forger.append(
        tx,
        { type: stageReportType, id: 'billing:customer:z' },
        {
          kind: 'domain',
          type: stageReportEvent,
          data: {
            records: [
              {
                entityType: 'customer',
                entityId: 'z',
                version: 1,
                context: 'claims',
                stage: 'applied',
                authority,
              },
            ],
          },
        },
      ),
    );
    const admin = createDeadLetterAdmin({ db: t.db, schema: t.schema });
    await expect
      .poll(async () => (await admin.list({ consumer: 'ledger' })).length, { timeout: 20_000 })
      .toBe(1);
    const [letter] = await admin.list({ consumer: 'ledger' });
    expect(letter!.reason).toMatch(/reports for 'claims' but was sent by 'billing'/);
    const rows = await t.db.query(`SELECT 1 FROM "${t.schema}".ledger_stages WHERE entity_id = 'z'`);
    expect(rows.rows).toHaveLength(0);
  });
});

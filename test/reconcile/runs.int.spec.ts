import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/envelope/index.js';
import { isTidemarkError } from '../../src/errors.js';
import { createPostgresLog } from '../../src/backbone/index.js';
import { createConsumer } from '../../src/consumer/index.js';
import { rebuildDigests, reconciledHandler, reconcileExceptions } from '../../src/reconcile/index.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createEstate, flow, type Estate } from './estate.js';

const kinds = await databaseKinds();
const customer = (n: number) => ({ name: `Customer ${n}`, address: `${n} Dock Street` });

describe.each(kinds)('reconciliation runs on $name', (kind) => {
  let authority: TestDb;
  let replica: TestDb;
  let estate: Estate;
  const r = () => `"${replica.schema}"`;

  beforeEach(async () => {
    authority = await kind.open();
    replica = await kind.open();
    estate = await createEstate(authority, replica);
  });
  afterEach(async () => {
    await replica?.cleanup();
    await authority?.cleanup();
  });

  async function seed(count: number): Promise<void> {
    for (let i = 1; i <= count; i++) await estate.deliver(await estate.write(`c${i}`, customer(i)));
  }

  it('rebuilds a replica that lost its whole table', async () => {
    await seed(30);
    await replica.db.query(`TRUNCATE ${r()}.accounts`);
    // The loss bypassed the consumer, so the digests are rebuilt from what the table now holds.
    expect(await rebuildDigests(replica.db, estate.replicaDigests, [])).toBe(0);
    const report = await estate.reconciler().run();
    expect(report.found).toEqual({ missing: 30, stale: 0, orphan: 0, divergent: 0 });
    expect(report.outcomes.repaired).toBe(30);
    expect(await estate.replicaRows()).toEqual(await estate.authorityRows());
    expect((await estate.reconciler().run()).bucketsDiffering).toBe(0);
  });

  it('does not repair a row that was only on its way, nor one that changed since the comparison', async () => {
    await seed(3);
    const late = await estate.write('c1', customer(11)); // in flight: delivered during the run
    await estate.write('c2', customer(12)); // moving: the authority writes again during the run
    const report = await estate.reconciler().run({
      afterCompare: async (findings) => {
        expect(findings.map((f) => `${f.entityId}:${f.class}`)).toEqual(['c1:stale', 'c2:stale']);
        await estate.deliver(late);
        await estate.write('c2', customer(22));
      },
    });
    expect(report.outcomes).toEqual({ 'in-flight': 1, moving: 1 });
    const replicaRows = await estate.replicaRows();
    expect(replicaRows.get('c1')).toBe('2:Customer 11:11 Dock Street');
    expect(replicaRows.get('c2')).toBe('1:Customer 2:2 Dock Street'); // untouched: the next run looks again
    const next = await estate.reconciler().run();
    expect(next.found.stale).toBe(1);
    expect(next.outcomes.repaired).toBe(1);
    expect(await estate.replicaRows()).toEqual(await estate.authorityRows());
  });

  it.runIf(kind.concurrent)('makes no false repairs while writes keep arriving during the run', async () => {
    await seed(50);
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        const id = `c${1 + (writes % 50)}`;
        await estate.deliver(await estate.write(id, customer(1_000 + writes++)));
      }
    })();
    try {
      for (let i = 0; i < 3; i++) {
        const report = await estate.reconciler({ settleMs: 300 }).run();
        expect(report.outcomes.repaired ?? 0).toBe(0);
        expect(report.outcomes.failed ?? 0).toBe(0);
      }
    } finally {
      writing = false;
      await writer;
    }
    expect(writes).toBeGreaterThan(0);
    expect(await estate.replicaRows()).toEqual(await estate.authorityRows());
  });

  it('opens exceptions for people instead of repairing, once per entity while unresolved', async () => {
    await seed(2);
    await estate.write('c1', customer(5));
    const reconciler = estate.reconciler({ repair: 'exception' });
    expect((await reconciler.run()).outcomes).toEqual({ exception: 1 });
    expect((await reconciler.run()).outcomes).toEqual({ exception: 1 });
    const exceptions = reconcileExceptions(replica.db, replica.schema);
    const [open] = await exceptions.list({ flow });
    expect(open).toMatchObject({
      entityId: 'c1',
      class: 'stale',
      status: 'open',
      authorityVersion: 2,
      replicaVersion: 1,
    });
    expect(await exceptions.list()).toHaveLength(1);
    const taken = await exceptions.assign(open!.id, 'dana', 'checking the address with the customer');
    expect(taken).toMatchObject({ status: 'investigating', assignee: 'dana' });
    const done = await exceptions.resolve(open!.id, 'replayed by hand');
    expect(done).toMatchObject({ status: 'resolved', resolution: 'replayed by hand' });
    await expect(exceptions.resolve(open!.id, 'again')).rejects.toThrow(
      /no unresolved reconciliation exception #/,
    );
  });

  it('a consumer that ignores state events gets an exception, and its applied version is left as it was', async () => {
    estate.buggy.add('c1');
    await seed(1);
    estate.buggy.delete('c1');
    const domainOnly = createConsumer({
      name: 'billing',
      db: replica.db,
      schema: replica.schema,
      backbone: await createPostgresLog({ db: replica.db, schema: replica.schema, partitions: 1 }),
      handlers: {
        customer: reconciledHandler({ kinds: ['domain'], apply: async () => {} }, estate.replicaDigests),
      },
    });
    const report = await estate.reconciler({ consumer: domainOnly }).run();
    expect(report.found.divergent).toBe(1);
    expect(report.outcomes).toEqual({ failed: 1 });
    expect(await estate.consumer.appliedVersion('customer', 'c1')).toBe(1);
    const [open] = await reconcileExceptions(replica.db, replica.schema).list();
    expect(open).toMatchObject({ entityId: 'c1', class: 'divergent', status: 'open' });
    expect(open!.notes).toContain('did not apply the repair (ignored)');
  });

  it('dry-run reports and stores the run but changes nothing', async () => {
    await seed(3);
    await estate.write('c3', customer(33));
    const before = await estate.replicaRows();
    const report = await estate.reconciler().run({ dryRun: true });
    expect(report.found.stale).toBe(1);
    expect(report.outcomes).toEqual({ 'dry-run': 1 });
    expect(await estate.replicaRows()).toEqual(before);
    const stored = await replica.db.query<{ status: string; dry_run: boolean; found: unknown }>(
      `SELECT status, dry_run, report->'found' AS found FROM ${r()}.recon_runs WHERE id = $1`,
      [report.runId],
    );
    expect(stored.rows[0]).toEqual({ status: 'finished', dry_run: true, found: report.found });
    const marks = await replica.db.query(`SELECT 1 FROM ${r()}.ledger_stages WHERE stage = 'reconciled'`);
    expect(marks.rows).toHaveLength(0);
  });

  it('an interrupted run leaves its findings pending and the next run finishes them', async () => {
    await seed(4);
    await estate.write('c1', customer(10));
    await estate.write('c2', customer(20));
    const failing = estate.reconciler().run({
      afterCompare: () => {
        throw new Error('process killed');
      },
    });
    await expect(failing).rejects.toThrow('process killed');
    expect(await estate.replicaRows()).not.toEqual(await estate.authorityRows());
    // A run killed outright stays 'running'; without heartbeats it is taken over.
    await replica.db.query(
      `UPDATE ${r()}.recon_runs SET status = 'running', heartbeat_at = now() - interval '5 minutes'`,
    );
    const resumed = await estate.reconciler().run();
    expect(resumed.resumed?.findings).toBe(2);
    expect(resumed.outcomes.repaired).toBe(2);
    expect(resumed.found.stale).toBe(0);
    expect(await estate.replicaRows()).toEqual(await estate.authorityRows());
  });

  it('refuses a second run of a flow while one is alive', async () => {
    await replica.db.query(
      `INSERT INTO ${r()}.recon_runs (flow, status, dry_run) VALUES ($1, 'running', false)`,
      [flow],
    );
    const error = await estate
      .reconciler()
      .run()
      .catch((e: unknown) => e);
    expect(isTidemarkError(error, 'TM_RECON_RUN_ACTIVE')).toBe(true);
  });

  it('republishes the current state through the outbox, at the current version', async () => {
    await seed(2);
    await estate.write('c2', customer(7));
    const report = await estate.reconciler({ repair: 'republish' }).run();
    expect(report.outcomes).toEqual({ republished: 1 });
    const outbox = await authority.db.query<{
      envelope: Omit<Envelope, 'entityversion'>;
      entity_version: string;
    }>(
      `SELECT envelope, entity_version::text FROM "${authority.schema}".outbox
       WHERE envelope->>'type' = 'customer.reconcile-repair'`,
    );
    expect(outbox.rows).toHaveLength(1);
    const row = outbox.rows[0]!;
    expect(row.entity_version).toBe('2');
    // What the relay would deliver: the stored envelope with its version.
    await estate.deliver({ ...row.envelope, entityversion: Number(row.entity_version) } as Envelope);
    expect(await estate.replicaRows()).toEqual(await estate.authorityRows());
    expect((await estate.reconciler().run()).found.stale).toBe(0);
  });
});

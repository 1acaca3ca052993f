import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTidemarkError } from '../../src/errors.js';
import { createReconciler, replicaDigests, repairPlan } from '../../src/reconcile/index.js';
import { parseTopology, starterTopology, type Topology } from '../../src/topology/index.js';
import { embeddedDb, uniqueSchema, type TestDb } from '../support/services.js';
import { createEstate, flow, type Estate } from './estate.js';

async function codeOf(work: () => unknown): Promise<{ code?: string; message: string }> {
  try {
    await work();
  } catch (error) {
    return { code: isTidemarkError(error) ? error.code : undefined, message: (error as Error).message };
  }
  throw new Error('expected an error');
}

describe('reconciliation refuses bad input with a specific error', () => {
  let authority: TestDb;
  let replica: TestDb;
  let estate: Estate;
  let topology: Topology;

  beforeAll(async () => {
    authority = await embeddedDb();
    replica = await embeddedDb();
    estate = await createEstate(authority, replica);
    const parsed = parseTopology(starterTopology);
    if (!parsed.valid) throw new Error('starter topology invalid');
    topology = parsed.topology;
  });
  afterAll(async () => {
    await replica?.cleanup();
    await authority?.cleanup();
  });

  it('an unknown flow, checked against the topology, names the flows that exist', async () => {
    const error = await codeOf(() => estate.reconciler({ flow: 'customer-to-biling', topology }));
    expect(error.code).toBe('TM_RECON_UNKNOWN_FLOW');
    expect(error.message).toContain("no flow 'customer-to-biling'");
    expect(error.message).toContain('customer-to-billing');
  });

  it('an unknown flow without a topology names the flows with digests', async () => {
    const error = await codeOf(() => estate.reconciler({ flow: 'nope' }).run());
    expect(error.code).toBe('TM_RECON_UNKNOWN_FLOW');
    expect(error.message).toContain(flow);
  });

  it('a replica whose fields differ from the authority’s is a schema mismatch naming both lists', async () => {
    const other = await embeddedDb();
    try {
      await replicaDigests({
        schema: other.schema,
        flow,
        entityType: 'customer',
        consumer: 'billing',
        fields: ['name', 'address', 'iban'],
        read: async () => undefined,
      }).register(other.db);
      const error = await codeOf(() =>
        estate.reconciler({ replica: { db: other.db, schema: other.schema } }).run(),
      );
      expect(error.code).toBe('TM_RECON_SCHEMA_MISMATCH');
      expect(error.message).toContain('[address, name]');
      expect(error.message).toContain('[address, iban, name]');
    } finally {
      await other.cleanup();
    }
  });

  it('a replica schema without the reconcile tables says to migrate', async () => {
    const bare = uniqueSchema();
    await replica.db.query(`CREATE SCHEMA "${bare}"`);
    try {
      const error = await codeOf(() =>
        estate.reconciler({ replica: { db: replica.db, schema: bare } }).run(),
      );
      expect(error.code).toBe('TM_RECON_SCHEMA_MISMATCH');
      expect(error.message).toMatch(/no reconcile tables; run migrate/);
    } finally {
      await replica.db.query(`DROP SCHEMA "${bare}" CASCADE`);
    }
  });

  it('a repair that cannot apply to a class, or lacks what it needs, is refused before anything runs', async () => {
    expect((await codeOf(() => repairPlan('republish', { orphan: 'rehydrate' }))).message).toMatch(
      /'rehydrate' cannot repair an orphan row: use tombstone or exception/,
    );
    const noConsumer = await codeOf(() =>
      createReconciler({
        flow,
        authority: { db: authority.db, schema: authority.schema },
        replica: { db: replica.db, schema: replica.schema },
        repair: 'rehydrate',
        source: estate.source,
      }).run(),
    );
    expect(noConsumer.code).toBe('TM_INVALID_ARGUMENT');
    expect(noConsumer.message).toContain("needs the replica's consumer");
  });

  it('a state repair for a push-domain flow is refused: its consumer ignores state', async () => {
    const error = await codeOf(() =>
      estate.reconciler({ flow: 'customer-to-policy', topology, repair: 'rehydrate' }),
    );
    expect(error.code).toBe('TM_INVALID_ARGUMENT');
    expect(error.message).toContain("flow 'customer-to-policy' is push-domain");
  });

  it('bad schema names are refused as identifiers', async () => {
    const error = await codeOf(() => estate.reconciler({ replica: { db: replica.db, schema: 'Bad-Name' } }));
    expect(error.code).toBe('TM_INVALID_IDENTIFIER');
  });
});

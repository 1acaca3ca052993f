import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driftClasses, type DriftClass } from '../../src/reconcile/index.js';
import { databaseKinds } from '../support/both-databases.js';
import type { TestDb } from '../support/services.js';
import { createEstate, type Estate } from './estate.js';

const kinds = await databaseKinds();
type Drift = DriftClass | 'none';

/** Brings one entity into the state of its drift class, through the real write and apply paths. */
async function inject(estate: Estate, id: string, drift: Drift, extraUpdates: number): Promise<void> {
  const customer = (n: number) => ({ name: `Customer ${id}`, address: `${n} Harbour Road` });
  const writes = extraUpdates + 1;
  for (let n = 1; n <= writes; n++) {
    // A handler bug on the last version delivered leaves a copy that differs at the same version.
    if (drift === 'divergent' && n === writes) estate.buggy.add(id);
    const envelope = await estate.write(id, customer(n));
    if (drift !== 'missing') await estate.deliver(envelope);
    estate.buggy.delete(id);
  }
  if (drift === 'stale') await estate.write(id, customer(99)); // never delivered
  if (drift === 'orphan') await estate.remove(id); // the tombstone is lost
}

describe.each(kinds)('reconciling random drift on $name', (kind) => {
  let authority: TestDb;
  let replica: TestDb;
  let estate: Estate;

  beforeAll(async () => {
    authority = await kind.open();
    replica = await kind.open();
    estate = await createEstate(authority, replica);
  });
  afterAll(async () => {
    await replica?.cleanup();
    await authority?.cleanup();
  });

  it('finds exactly the injected drift, repairs it through the consumer, and the next run finds nothing', async () => {
    let round = 0;
    const entity = fc.record({
      drift: fc.constantFrom<Drift>('none', 'none', ...driftClasses),
      updates: fc.integer({ min: 0, max: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entity, { minLength: 1, maxLength: 25 }), async (entities) => {
        round++;
        const injected = new Map<string, DriftClass>();
        for (const [i, e] of entities.entries()) {
          const id = `r${round}-c${i}`;
          await inject(estate, id, e.drift, e.updates);
          if (e.drift !== 'none') injected.set(id, e.drift);
        }
        const reconciler = estate.reconciler({ examples: 1_000 });
        const first = await reconciler.run();
        const found = new Map(first.examples.map((f) => [f.entityId, f.class]));
        expect(found).toEqual(injected);
        const count = (cls: DriftClass) => [...injected.values()].filter((c) => c === cls).length;
        expect(first.found).toEqual({
          missing: count('missing'),
          stale: count('stale'),
          orphan: count('orphan'),
          divergent: count('divergent'),
        });
        expect(first.outcomes.repaired ?? 0).toBe(injected.size - count('orphan'));
        expect(first.outcomes.tombstoned ?? 0).toBe(count('orphan'));
        expect(await estate.replicaRows()).toEqual(await estate.authorityRows());

        const second = await reconciler.run();
        expect(second.found).toEqual({ missing: 0, stale: 0, orphan: 0, divergent: 0 });
        expect(second.bucketsDiffering).toBe(0);
        expect(second.rowsRead.rows).toBe(0);
      }),
      { numRuns: kind.concurrent ? 6 : 8 },
    );
  });

  it('marks repaired and matching versions reconciled in the ledger, in the replica context', async () => {
    const lost = await estate.write('ledger-1', { name: 'Ada', address: '1 Quay' });
    const kept = await estate.write('ledger-2', { name: 'Bea', address: '2 Quay' });
    await estate.deliver(kept);
    const report = await estate.reconciler().run();
    expect(report.found.missing).toBe(1);
    const stages = await replica.db.query<{ entity_id: string; entity_version: string; authority: string }>(
      `SELECT entity_id, entity_version::text, authority FROM "${replica.schema}".ledger_stages
       WHERE stage = 'reconciled' AND context = 'billing' AND entity_id LIKE 'ledger-%' ORDER BY entity_id`,
    );
    expect(stages.rows).toEqual([
      { entity_id: 'ledger-1', entity_version: String(lost.entityversion), authority: 'profile' },
      { entity_id: 'ledger-2', entity_version: String(kept.entityversion), authority: 'profile' },
    ]);
  });
});

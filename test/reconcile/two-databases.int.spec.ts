import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedDb, postgresAvailable, serverDb, type TestDb } from '../support/services.js';
import { createEstate, type Estate } from './estate.js';

const available = await postgresAvailable();

describe.runIf(available)(
  'reconciling across two databases (authority on server PostgreSQL, replica in PGlite)',
  () => {
    let authority: TestDb;
    let replica: TestDb;
    let estate: Estate;

    beforeAll(async () => {
      authority = await serverDb();
      replica = await embeddedDb();
      estate = await createEstate(authority, replica);
    });
    afterAll(async () => {
      await replica?.cleanup();
      await authority?.cleanup();
    });

    it('exchanges digests only, finds every class of drift and repairs it', async () => {
      const customer = (n: number) => ({ name: `Customer ${n}`, address: `${n} Pier Lane` });
      for (let i = 1; i <= 40; i++) await estate.deliver(await estate.write(`c${i}`, customer(i)));
      await estate.write('c41', customer(41)); // missing
      await estate.write('c2', customer(200)); // stale
      await estate.remove('c3'); // orphan
      estate.buggy.add('c4');
      await estate.deliver(await estate.write('c4', customer(400))); // divergent
      estate.buggy.delete('c4');

      const report = await estate.reconciler().run();
      expect(report.found).toEqual({ missing: 1, stale: 1, orphan: 1, divergent: 1 });
      expect(report.outcomes).toEqual({ repaired: 3, tombstoned: 1 });
      // Rows are read only from the buckets that differ: at most four here, out of 4,096.
      expect(report.bucketsDiffering).toBeLessThanOrEqual(4);
      expect(report.rowsRead.rows).toBeLessThan(2 * 8);
      expect(await estate.replicaRows()).toEqual(await estate.authorityRows());

      const again = await estate.reconciler().run();
      expect(again.found).toEqual({ missing: 0, stale: 0, orphan: 0, divergent: 0 });
      expect(again.rowsRead.rows).toBe(0);
    });
  },
);

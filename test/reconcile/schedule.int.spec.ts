import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRunAt, scheduleReconciliation, type RunReport } from '../../src/reconcile/index.js';
import { embeddedDb, type TestDb } from '../support/services.js';
import { waitUntil } from '../support/wait.js';
import { createEstate, type Estate } from './estate.js';

describe('scheduled reconciliation', () => {
  it('computes the next run of an interval and of a cron schedule', () => {
    const after = new Date('2026-11-26T09:10:00Z');
    expect(nextRunAt({ every: '15m', everyMs: 900_000 }, after).toISOString()).toBe(
      '2026-11-26T09:25:00.000Z',
    );
    expect(nextRunAt({ cron: '0 * * * *' }, after).toISOString()).toBe('2026-11-26T10:00:00.000Z');
  });

  describe('on a database', () => {
    let authority: TestDb;
    let replica: TestDb;
    let estate: Estate;
    beforeAll(async () => {
      authority = await embeddedDb();
      replica = await embeddedDb();
      estate = await createEstate(authority, replica);
    });
    afterAll(async () => {
      await replica?.cleanup();
      await authority?.cleanup();
    });

    it('runs on its schedule, repairs, and stops after the run in progress', async () => {
      await estate.write('s1', { name: 'Sam', address: '1 Bay' }); // never delivered
      const reports: RunReport[] = [];
      const scheduled = scheduleReconciliation(estate.reconciler(), {
        schedule: { every: '20ms', everyMs: 20 },
        onReport: (report) => reports.push(report),
      });
      await waitUntil(async () => reports.length >= 2, true, 30_000, 'two scheduled runs');
      await scheduled.stop();
      const count = reports.length;
      expect(reports[0]!.found.missing).toBe(1);
      expect(reports[0]!.outcomes.repaired).toBe(1);
      expect(reports[1]!.found.missing).toBe(0);
      expect(await estate.replicaRows()).toEqual(await estate.authorityRows());
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(reports.length).toBe(count);
    });

    it('refuses a flow without a schedule', () => {
      expect(() => scheduleReconciliation(estate.reconciler(), {})).toThrow(/has no reconciliation schedule/);
    });
  });
});

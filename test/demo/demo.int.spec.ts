import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPGlite } from '../../src/store/pglite/index.js';
import type { Db } from '../../src/store/db.js';
import { runDemo } from '../../src/demo/run.js';
import { formatDemoReport } from '../../src/demo/report.js';

describe('insurer demo, embedded', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openPGlite();
  });
  afterAll(() => db.close());

  it('converges under injected duplicates, reordering and lost acknowledgements, and says so from the data', async () => {
    const report = await runDemo({ db, customers: 12, addressChanges: 60, seed: 3, pauseMs: 1 });
    expect(report.events).toBe(2 * (12 + 60));
    expect(report.faults.duplicated).toBeGreaterThan(0);
    expect(report.faults.crashedBeforeAck).toBeGreaterThan(0);
    expect(report.converged).toBe(true);
    for (const context of Object.values(report.contexts)) {
      expect(context).toMatchObject({ matching: 12, total: 12, rejected: 0, converged: true });
      expect(context.duplicatesSkipped).toBeGreaterThan(0);
    }
    // Communications applies every change, exactly once, in order.
    expect(report.contexts.communications!.applied).toBe(72);
    expect(formatDemoReport(report, 3)).toMatch(/Converged: yes/);
  });

  it('reports not converged when a copy is tampered with behind the runtime', async () => {
    const first = await runDemo({ db, customers: 3, addressChanges: 5, seed: 5, pauseMs: 0, faults: false });
    expect(first.converged).toBe(true);
    // Drift a replica, then compare again through the same code path the demo uses.
    const { compareCopies } = await import('../../src/demo/compare.js');
    const authority = (
      await db.query<{ id: string; address: string }>(`SELECT id, address FROM demo_profile.customers`)
    ).rows;
    await db.query(`UPDATE demo_billing.billing_accounts SET address = 'nowhere' WHERE customer_id = $1`, [
      authority[0]!.id,
    ]);
    const billing = (
      await db.query<{ id: string; address: string }>(
        `SELECT customer_id AS id, address FROM demo_billing.billing_accounts`,
      )
    ).rows;
    const comparison = compareCopies(authority, billing, ['address']);
    expect(comparison.matching).toBe(2);
    expect(comparison.differences).toEqual([
      {
        id: authority[0]!.id,
        authority: authority[0],
        replica: { id: authority[0]!.id, address: 'nowhere' },
      },
    ]);
  });
});

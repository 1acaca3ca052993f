import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPGlite } from '../../src/store/pglite/index.js';
import type { Db } from '../../src/store/db.js';
import { runDemo } from '../../src/demo/run.js';
import { formatDemoReport } from '../../src/demo/report.js';

describe('insurer demo, embedded', { timeout: 180_000 }, () => {
  let db: Db;
  beforeAll(async () => {
    db = await openPGlite();
  });
  afterAll(() => db.close());

  it('converges under injected duplicates, reordering and lost acknowledgements, and says so from the data', async () => {
    const report = await runDemo({
      db,
      customers: 12,
      addressChanges: 60,
      seed: 3,
      pauseMs: 1,
      openCommunicationsDb: () => openPGlite(),
    });
    // Three events (domain, state, notice) per change; the narrated customer adds two changes.
    expect(report.events).toBe(3 * (12 + 60 + 2));
    expect(report.faults.duplicated).toBeGreaterThan(0);
    expect(report.faults.crashedBeforeAck).toBeGreaterThan(0);
    expect(report.converged).toBe(true);
    // Drift injected after the traffic: one billing account deleted, another overwritten. The
    // row check saw both, reconciliation classified and repaired both, and a second run is clean.
    expect(report.reconciliation).toMatchObject({
      flow: 'customer-to-billing',
      drift: { deleted: 'cust-0001', altered: 'cust-0002' },
      detectedByCheck: 2,
      found: { missing: 1, stale: 0, orphan: 0, divergent: 1 },
      repaired: 2,
      unrepaired: 0,
      foundAfterRepair: 0,
    });
    // Every account's latest version is confirmed: the repaired two and the eleven that matched.
    expect(report.reconciliation.reconciled).toBe(13);
    expect(report.reconciliation.rowsRead).toBeGreaterThan(0);
    const billing = (
      await db.query<{ customer_id: string; address: string }>(
        `SELECT b.customer_id, b.address FROM demo_billing.billing_accounts b
         JOIN demo_profile.customers c ON c.id = b.customer_id AND c.address = b.address AND c.version = b.version
         WHERE b.customer_id IN ('cust-0001', 'cust-0002')`,
      )
    ).rows;
    expect(billing.map((b) => b.customer_id).sort()).toEqual(['cust-0001', 'cust-0002']);
    expect(formatDemoReport(report, 3)).toMatch(
      /found 1 missing, 0 stale, 0 orphan, 1 divergent; repaired 2 through Billing's consumer.*A second run found nothing/,
    );
    for (const context of Object.values(report.contexts)) {
      expect(context).toMatchObject({ matching: 13, total: 13, rejected: 0, converged: true });
      expect(context.duplicatesSkipped).toBeGreaterThan(0);
    }
    // Communications is told of every change; a notice older than the state it already fetched is
    // superseded, so it applies at most one per change and at least one per customer.
    const comms = report.contexts.communications!;
    expect(comms.strategy).toBe('notify-fetch');
    expect(comms.applied).toBeLessThanOrEqual(72 + 2);
    expect(comms.applied).toBeGreaterThanOrEqual(13);
    expect(formatDemoReport(report, 3)).toMatch(/Converged: yes/);
  });

  it('follows one change through the estate in business words, ending with each decision', async () => {
    const report = await runDemo({
      db,
      customers: 3,
      addressChanges: 4,
      seed: 9,
      pauseMs: 0,
      faults: false,
      openCommunicationsDb: () => openPGlite(),
    });
    expect(report.converged).toBe(true);
    expect(report.story.map((s) => s.title)).toEqual([
      'Ada Okafor registers at 12 Harbour Road, Leith',
      'Claims opens an investigation; then Ada Okafor moves to 3 Castle Wynd, Perth, and the insured risk with her',
      'Underwriting approves the new risk address',
      'Claims closes the investigation',
      'Reconciliation compares Billing with the authority, repairs the accounts that drifted, and confirms the rest',
    ]);
    const stages = report.story.map((s) => Object.fromEntries(s.contexts.map((c) => [c.context, c.stage])));
    expect(stages[0]).toEqual({
      billing: 'applied',
      policy: 'applied',
      claims: 'applied',
      communications: 'applied',
    });
    expect(stages[1]).toEqual({
      billing: 'deferred',
      policy: 'held',
      claims: 'blocked',
      communications: 'applied',
    });
    expect(stages[2]).toMatchObject({ policy: 'applied', claims: 'blocked' });
    expect(stages[3]).toMatchObject({ policy: 'applied', claims: 'applied', billing: 'deferred' });
    // Reconciled, but still deferred to the next cycle: the copy is confirmed, not yet in use.
    expect(stages[4]).toMatchObject({ billing: 'deferred' });
    expect(report.story[4]!.contexts.find((c) => c.context === 'billing')!.detail.reconciledAt).toEqual(
      expect.any(String),
    );
    expect(report.story[1]!.summary).toMatch(
      /^Customer risk address changed v2 \(accepted .*\): billing uses it from 1 \w+ \(next-billing-cycle\); policy holds it: under-review .*; claims: blocked — investigation open; communications uses it since /,
    );
    const readiness = Object.fromEntries(report.readiness.map((r) => [r.decision, r]));
    expect(readiness['send-letter']).toMatchObject({ ready: true, missing: [] });
    expect(readiness['quote-at-new-risk-address']).toMatchObject({ ready: true });
    // Billing's copy is confirmed, but the bill goes out only after the billing cut-off.
    expect(readiness['bill-at-new-address']!.ready).toBe(false);
    expect(readiness['bill-at-new-address']!.explanation).toMatch(/billing-cut-off .* has not passed/);
    // Before reconciliation the decision waited for Billing's copy to be confirmed; after it, it is ready.
    expect(report.story[3]!.summary).not.toMatch(/reconciled/);
    expect(readiness['confirm-address-change']).toMatchObject({ ready: true, missing: [] });
    expect(formatDemoReport(report, 9)).toMatch(
      /Decisions about that change:\n {2}ready {6}send-letter can use/,
    );
  });

  it('reports not converged when a copy is tampered with behind the runtime', async () => {
    const first = await runDemo({
      db,
      customers: 3,
      addressChanges: 5,
      seed: 5,
      pauseMs: 0,
      faults: false,
      openCommunicationsDb: () => openPGlite(),
    });
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
    expect(comparison.matching).toBe(3);
    expect(comparison.differences).toEqual([
      {
        id: authority[0]!.id,
        authority: authority[0],
        replica: { id: authority[0]!.id, address: 'nowhere' },
      },
    ]);
  });
});

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
    expect(report.story[1]!.summary).toMatch(
      /^Customer risk address changed v2 \(accepted .*\): billing uses it from 1 \w+ \(next-billing-cycle\); policy holds it: under-review .*; claims: blocked — investigation open; communications uses it since /,
    );
    const readiness = Object.fromEntries(report.readiness.map((r) => [r.decision, r]));
    expect(readiness['send-letter']).toMatchObject({ ready: true, missing: [] });
    expect(readiness['quote-at-new-risk-address']).toMatchObject({ ready: true });
    expect(readiness['bill-at-new-address']).toMatchObject({ ready: false, missing: ['applied@billing'] });
    expect(readiness['confirm-address-change']!.missing).toEqual(['reconciled@billing']);
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

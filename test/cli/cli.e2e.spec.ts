import { describe, expect, it } from 'vitest';
import { tidemark as runCli } from '../support/cli.js';

const tidemark = (...args: string[]) => runCli(args);

describe('tidemark CLI', () => {
  it('demo --json prints one JSON object with events, per-context figures and a computed convergence', async () => {
    const result = await tidemark('demo', '--json', '--customers', '5', '--changes', '15', '--seed', '11');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      events: number;
      converged: boolean;
      contexts: Record<string, { applied: number; maxLagMs: number }>;
      readiness: { decision: string; ready: boolean }[];
      reconciliation: {
        found: Record<string, number>;
        repaired: number;
        rowsRead: number;
        durationMs: number;
      };
    };
    // 20 changes of three events each (domain, state, notice), plus the narrated customer's two changes.
    expect(report.events).toBe(66);
    expect(report.converged).toBe(true);
    expect(Object.keys(report.contexts).sort()).toEqual(['billing', 'claims', 'communications', 'policy']);
    // Notify-fetch: a notice older than the state already fetched is superseded, not applied.
    expect(report.contexts.communications!.applied).toBeGreaterThanOrEqual(6);
    expect(report.contexts.communications!.applied).toBeLessThanOrEqual(22);
    expect(report.readiness.map((r) => `${r.decision}:${r.ready}`)).toEqual([
      'send-letter:true',
      'bill-at-new-address:false',
      'quote-at-new-risk-address:true',
      'confirm-address-change:true',
    ]);
    // The drift injected into Billing after the traffic was found and repaired.
    expect(report.reconciliation).toMatchObject({
      found: { missing: 1, stale: 0, orphan: 0, divergent: 1 },
      repaired: 2,
      foundAfterRepair: 0,
    });
    expect(report.reconciliation.rowsRead).toBeGreaterThan(0);
    expect(report.reconciliation.durationMs).toBeGreaterThanOrEqual(0);
    expect(report.contexts.billing!.maxLagMs).toBeGreaterThanOrEqual(0);
  }, 180_000);

  it('names a bad option value and how to fix it, without a stack trace', async () => {
    const result = await tidemark('demo', '--customers', 'lots');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /--customers needs a whole number of at least 1, e\.g\. --customers 10 \(got "lots"\)/,
    );
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('demo --legacy without a server PostgreSQL is a usage error naming the fix, exit 2', async () => {
    const result = await tidemark('demo', '--legacy');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /--legacy captures .* logical replication, which the embedded database cannot do: add --distributed .*, or --postgres <url> .*wal_level=logical/,
    );
    expect(result.stdout).toBe('');
  });

  it('names an unknown command', async () => {
    const result = await tidemark('demoo');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/unknown command 'demoo'/);
  });
});

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { postgresAvailable, postgresUrl } from '../support/services.js';
import { natsAvailable, natsServers } from '../contract/backbone/nats-service.js';
import { openPostgres } from '../../src/store/pg/index.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const available = (await postgresAvailable()) && (await natsAvailable());

describe.runIf(available)('tidemark demo --distributed (server PostgreSQL + NATS JetStream)', () => {
  it('prints the same JSON report as the embedded demo and converges', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'demo',
        '--distributed',
        '--postgres',
        postgresUrl,
        '--nats',
        natsServers,
        '--json',
        '--customers',
        '8',
        '--changes',
        '30',
      ],
      { timeout: 120_000 },
    );
    const report = JSON.parse(stdout) as {
      mode: string;
      backbone: string;
      events: number;
      converged: boolean;
      contexts: Record<string, { applied: number; matching: number; total: number }>;
      reconciliation: { found: Record<string, number>; repaired: number; foundAfterRepair: number };
    };
    expect(report).toMatchObject({
      mode: 'distributed',
      backbone: 'nats-jetstream',
      events: 120,
      converged: true,
    });
    expect(report.contexts.communications).toMatchObject({ strategy: 'notify-fetch', matching: 9, total: 9 });
    expect(report.contexts.billing).toMatchObject({ matching: 9, total: 9 });
    // The same drift is injected into Billing on the server and repaired by reconciliation.
    expect(report.reconciliation).toMatchObject({
      found: { missing: 1, divergent: 1 },
      repaired: 2,
      foundAfterRepair: 0,
    });
  });

  // In this file, not one of its own: both runs use the demo's fixed schemas and stream.
  it("--legacy: the legacy policy admin's writes reach Policy as typed domain events through CDC, and the slot is dropped", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'demo',
        '--legacy',
        '--distributed',
        '--postgres',
        postgresUrl,
        '--nats',
        natsServers,
        '--json',
        '--customers',
        '3',
        '--changes',
        '5',
        '--no-faults',
      ],
      { timeout: 150_000 },
    );
    const report = JSON.parse(stdout) as {
      converged: boolean;
      reconciliation: { repaired: number };
      legacy: {
        snapshotRows: number;
        streamedWrites: number;
        filtered: number;
        rejected: string[];
        applied: Record<string, number>;
        matching: number;
        total: number;
        converged: boolean;
        slotDropped: boolean;
      };
    };
    expect(report.converged).toBe(true);
    expect(report.reconciliation.repaired).toBe(2);
    // Three policies read by the snapshot, one issued while streaming; a move, a lapse and a
    // cancellation; a touch of the audit column filtered out; an unreadable status code rejected.
    expect(report.legacy).toMatchObject({
      snapshotRows: 3,
      streamedWrites: 6,
      filtered: 1,
      applied: { PolicyIssued: 4, PolicyRiskAddressChanged: 1, PolicyLapsed: 1, PolicyCancelled: 1 },
      matching: 4,
      total: 4,
      converged: true,
      slotDropped: true,
    });
    expect(report.legacy.rejected).toEqual([expect.stringMatching(/P-1004 has status code 'Z'/)]);

    // Read the estate itself, not the report: what the consumer received and holds, and the slot.
    const db = await openPostgres({ connectionString: postgresUrl, max: 1 });
    try {
      const received = (
        await db.query<{ entity_id: string; type: string; version: string }>(
          `SELECT o.entity_id, o.envelope->>'type' AS type, o.entity_version AS version
           FROM demo_policy.inbox i JOIN demo_policy_admin_bridge.outbox o ON o.event_id = i.event_id
           WHERE i.consumer = 'policy-migration' AND i.entity_type = 'policy'
           ORDER BY o.entity_id, o.entity_version`,
        )
      ).rows.map((r) => `${r.entity_id}@${r.version} ${r.type}`);
      expect(received).toEqual([
        'P-1001@1 PolicyIssued',
        'P-1002@1 PolicyIssued',
        'P-1002@2 PolicyLapsed',
        'P-1003@1 PolicyIssued',
        'P-1003@2 PolicyRiskAddressChanged',
        'P-1004@1 PolicyIssued',
        'P-1004@2 PolicyCancelled',
      ]);
      const policies = (
        await db.query<{ policy_no: string; customer_id: string; risk_address: string; status: string }>(
          `SELECT policy_no, customer_id, risk_address, status FROM demo_policy.policies ORDER BY policy_no`,
        )
      ).rows;
      expect(policies).toEqual([
        {
          policy_no: 'P-1001',
          customer_id: 'cust-0001',
          risk_address: '45 Kirkgate DH1 3AB',
          status: 'in-force',
        },
        {
          policy_no: 'P-1002',
          customer_id: 'cust-0002',
          risk_address: '8 Mill Lane YO1 7HH',
          status: 'lapsed',
        },
        {
          policy_no: 'P-1003',
          customer_id: 'cust-story',
          risk_address: '3 Castle Wynd PH1 5AA',
          status: 'in-force',
        },
        {
          policy_no: 'P-1004',
          customer_id: 'cust-0003',
          risk_address: '19 Quay Side BS1 4RN',
          status: 'cancelled',
        },
      ]);
      const slots = await db.query(
        `SELECT 1 FROM pg_replication_slots WHERE slot_name = 'tidemark_demo_policy_admin'`,
      );
      expect(slots.rows).toEqual([]);
    } finally {
      await db.close();
    }
  }, 180_000);

  it('names the NATS address and what to check when NATS is unreachable', async () => {
    const failure = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        main,
        'demo',
        '--distributed',
        '--postgres',
        postgresUrl,
        '--nats',
        '127.0.0.1:4999',
      ],
      { timeout: 60_000 },
    ).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failure && failure.code).toBe(1);
    expect((failure as { stderr: string }).stderr).toMatch(
      /NATS is unreachable at 127\.0\.0\.1:4999.*nats-server is running/,
    );
  });
});

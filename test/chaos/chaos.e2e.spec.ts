import { describe, expect, it } from 'vitest';
import { postgresAvailable, postgresUrl } from '../support/services.js';
import { natsServerInstalled } from '../support/nats-server.js';
import { defaultOptions } from '../../chaos/options.js';
import { runChaos } from '../../chaos/run.js';
import { formatReport } from '../../chaos/report.js';

const requireServices = process.env.REQUIRE_SERVICES === '1';
const installed = await natsServerInstalled();
if (!installed && requireServices)
  throw new Error('REQUIRE_SERVICES=1 but /usr/sbin/nats-server is not installed');
const available = installed && (await postgresAvailable());

/**
 * Runtime defects this suite found and that are not fixed yet (see docs/chaos.md, "Findings").
 * Each is checked to be exactly that defect and nothing else, so any new failure still fails.
 */
const knownDefects = {
  // src/store/pg: a checked-out client (the LISTEN connection) has no 'error' listener, so
  // pg_terminate_backend crashes the process with an unhandled 'error' event (57P01).
  crashOnTerminatedConnection: 'no process died on its own',
  // src/consumer: an event held for a version gap whose missing predecessor is then
  // dead-lettered stays in consumer_pending instead of being parked in the DLQ behind it.
  heldBehindPoisonNotParked: 'keys behind a poison event parked, not lost',
  // src/consumer: a poison event released from the gap buffer fails the transaction of the event
  // that closed the gap; that healthy event is dead-lettered with the poison event's reason.
  poisonBlamedOnPredecessor: 'nothing else dead-lettered',
  poisonHeadInGapBuffer: 'every poison event in the DLQ with its reason',
} as const;

describe.runIf(available)('chaos run (own nats-server, server PostgreSQL, 6 processes)', () => {
  it('loses no committed event, applies none twice, keeps per-key order and parks poison keys under faults', async () => {
    const report = await runChaos({
      ...defaultOptions,
      events: 3_000,
      keys: 100,
      seed: 20_240_601,
      faults: 6,
      rate: 150,
      poisonRate: 0.002,
      convergeTimeoutMs: 60_000,
      postgres: postgresUrl,
    });
    console.info(formatReport(report));
    const invariant = (name: string) => {
      const found = report.verification.invariants.find((i) => i.name === name);
      expect(found, `invariant '${name}' in the report`).toBeDefined();
      return found!;
    };

    expect(report.verification.progress.committed).toBeGreaterThanOrEqual(3_000);
    expect(report.timing.convergedWithinTimeout).toBe(true);
    for (const kind of ['kill-relay', 'kill-consumer', 'restart-nats', 'terminate-connections']) {
      expect(report.faults[kind], `faults injected: ${kind}`).toBeGreaterThan(0);
    }
    expect(report.faults.poison).toBeGreaterThan(0);
    expect(
      (report.faults['duplicate-delivery'] ?? 0) + (report.faults['duplicate-publish'] ?? 0),
    ).toBeGreaterThan(0);

    for (const name of [
      'no committed event lost',
      'no duplicate effect',
      'per-key order kept',
      'other keys flowing',
    ]) {
      expect(invariant(name), name).toMatchObject({ holds: true, violations: 0 });
    }
    // A producer restarted after a crash may poison a key twice; each key has one head.
    expect(report.verification.poisonKeys).toBeGreaterThan(0);
    expect(report.verification.poisonKeys).toBeLessThanOrEqual(report.faults.poison!);
    const blamed = report.verification.progress.poisonBlamedOnPredecessor;
    expect(invariant(knownDefects.poisonBlamedOnPredecessor).violations).toBe(blamed);
    expect(invariant(knownDefects.poisonHeadInGapBuffer).violations).toBeLessThanOrEqual(blamed);

    // Known defects: only that defect, never anything else.
    const parked = invariant(knownDefects.heldBehindPoisonNotParked);
    expect(parked.violations).toBe(report.verification.progress.heldBehindPoison);
    expect(parked.detail).toMatch(/ 0 took effect past their poison head/);
    for (const exit of report.unexpectedExits) {
      expect(exit.stderr, `${exit.slot} died of something else than a terminated connection`).toMatch(
        /57P01|terminating connection due to administrator command/,
      );
    }
    expect(invariant(knownDefects.crashOnTerminatedConnection).violations).toBe(
      report.unexpectedExits.length,
    );
    expect(report.replicaDrift.status).toBe('not-run');
  }, 240_000);
});

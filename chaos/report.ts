import type { PlannedFault } from './schedule.js';
import type { UnexpectedExit } from './supervisor.js';
import type { BadInputResult } from './bad-input.js';
import type { ReplicaDriftResult } from './reconcile-hook.js';
import type { Verification } from './verify.js';

/** A fault that fired: when, what it hit, and how long the victim was down. */
export interface FiredFault extends PlannedFault {
  readonly firedAtMs: number;
  /** The process killed (pid) or the number of connections terminated. */
  readonly hit: string;
}

export interface ChaosReport {
  readonly ok: boolean;
  readonly seed: number;
  readonly workload: {
    readonly events: number;
    readonly keys: number;
    readonly rate: number;
    readonly poisonRate: number;
    readonly partitions: number;
  };
  readonly processes: { readonly producers: 1; readonly relays: number; readonly consumers: number };
  /** Counts per fault kind actually injected (process faults fired, in-stream faults reported by the workers). */
  readonly faults: Readonly<Record<string, number>>;
  readonly faultTimeline: readonly FiredFault[];
  readonly verification: Verification;
  readonly replicaDrift: ReplicaDriftResult;
  readonly badInput: BadInputResult;
  readonly unexpectedExits: readonly UnexpectedExit[];
  readonly timing: {
    readonly durationMs: number;
    readonly produceMs: number;
    /** From the end of the last fault (victim back up) to every committed event accounted for. */
    readonly convergeAfterLastFaultMs: number | null;
    /** From the producer's last commit to every committed event accounted for. */
    readonly convergeAfterProduceMs: number | null;
    readonly convergedWithinTimeout: boolean;
  };
  readonly machine: { readonly cpus: number; readonly node: string; readonly nats: string };
}

const n = (value: number) => value.toLocaleString('en-US');

/** One screen: the workload, the faults, each invariant with its figures, and what went wrong. */
export function formatReport(report: ChaosReport): string {
  const v = report.verification;
  const lines = [
    `Tidemark chaos run — seed ${report.seed} — ${report.ok ? 'PASSED' : 'FAILED'}`,
    `workload  ${n(v.progress.committed)} events committed over ${n(v.keysTotal)} keys ` +
      `(asked ${n(report.workload.events)} at ${n(report.workload.rate)} ev/s), ${report.workload.partitions} partitions; ` +
      `1 producer, ${report.processes.relays} relays, ${report.processes.consumers} consumers`,
    `timing    ${(report.timing.durationMs / 1000).toFixed(1)} s in all, producing ${(report.timing.produceMs / 1000).toFixed(1)} s, ` +
      (report.timing.convergeAfterLastFaultMs === null
        ? 'did NOT converge within the timeout'
        : `converged ${(report.timing.convergeAfterLastFaultMs / 1000).toFixed(1)} s after the last fault ` +
          `(${((report.timing.convergeAfterProduceMs ?? 0) / 1000).toFixed(1)} s after the last commit)`),
    `schedule  ${report.faultTimeline.map((f) => `${f.kind}@${f.atEvent}`).join(', ') || 'no process faults'}`,
    'faults injected',
    ...Object.entries(report.faults).map(([kind, count]) => `  ${kind.padEnd(24)} ${n(count)}`),
    'invariants',
    ...v.invariants.map(
      (i) =>
        `  ${i.holds ? 'ok  ' : 'FAIL'} ${i.name.padEnd(46)} ${i.violations ? `${n(i.violations)} violations; ` : ''}${i.detail}`,
    ),
    `replica drift + reconciliation: ${report.replicaDrift.status} (${report.replicaDrift.detail})`,
    ...(report.replicaDrift.found
      ? [
          `  before rebuilding the replica's digests a dry run saw ${JSON.stringify(report.replicaDrift.foundByLiveDigests)}; ` +
            `the run's outcomes ${JSON.stringify(report.replicaDrift.outcomes)} in ${n(report.replicaDrift.reconcileMs ?? 0)} ms`,
        ]
      : []),
    ...(report.replicaDrift.firstUnexplained
      ? [
          `  first differing key without an exception: ${JSON.stringify(report.replicaDrift.firstUnexplained)}`,
        ]
      : []),
    `bad input: ${report.badInput.status} (${report.badInput.cases.filter((c) => c.accounted).length} of ` +
      `${report.badInput.cases.length} cases accounted for, ${report.badInput.strayDeadLetters} stray dead letters)`,
    ...report.badInput.cases.map(
      (c) => `  ${c.accounted ? 'ok  ' : 'FAIL'} ${c.via.padEnd(13)} ${c.name.padEnd(52)} ${c.observed}`,
    ),
    `processes that died on their own: ${report.unexpectedExits.length}` +
      report.unexpectedExits
        .slice(0, 3)
        .map((e) => `\n  ${e.slot} pid ${e.pid} (exit ${e.code ?? e.signal}): ${firstErrorLine(e.stderr)}`)
        .join(''),
  ];
  if (v.firstOffender) {
    lines.push(`first offending key: ${v.firstOffender.key}`);
    for (const row of v.firstOffender.history.slice(0, 12)) lines.push(`  ${JSON.stringify(row)}`);
  }
  return lines.join('\n');
}

/** The line of a crashed process's stderr that says what went wrong, not the Node.js banner. */
function firstErrorLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const code = lines.find((l) => /^code: /.test(l));
  const error = lines.find((l) => /error/i.test(l) && !l.startsWith('at ')) ?? lines.find((l) => l) ?? '';
  return [error, code].filter(Boolean).join(' ').slice(0, 200);
}

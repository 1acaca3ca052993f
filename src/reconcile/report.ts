import type { DriftClass, Finding } from './compare.js';
import type { RepairOutcome } from './repair.js';

export interface RunReport {
  readonly runId: number;
  readonly flow: string;
  readonly dryRun: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
  /** Differences found by the comparison, per class. */
  readonly found: Readonly<Record<DriftClass, number>>;
  /** The first few findings, for people. */
  readonly examples: readonly Finding[];
  /**
   * What became of the findings: `repaired`/`tombstoned` through the consumer, `republished`
   * through the outbox (confirmed by a later run), `exception` opened, `in-flight` (matched on
   * recheck: it was only on its way), `moving` (changed since the comparison: the next run looks
   * again), `failed` (the repair did not take effect; an exception says why).
   */
  readonly outcomes: Readonly<Partial<Record<RepairOutcome | 'in-flight' | 'dry-run', number>>>;
  readonly rowsRead: {
    /** Bucket digests, both sides. */
    readonly buckets: number;
    /** Sub-bucket digests (16 per bucket) of differing buckets, both sides. */
    readonly subBuckets: number;
    /** Row digests of differing sub-buckets, both sides. */
    readonly rows: number;
    /** Row digests re-read before repairing. */
    readonly rechecks: number;
    /** Replica rows changed since the last run, read to mark them reconciled. */
    readonly confirmations: number;
  };
  readonly bucketsDiffering: number;
  /** Versions marked `reconciled` in the ledger (matched, or repaired through the consumer). */
  readonly reconciled: number;
  /** An interrupted earlier run whose pending repairs this run finished. */
  readonly resumed?: { readonly runId: number; readonly findings: number };
}

export const emptyCounts = (): Record<DriftClass, number> => ({
  missing: 0,
  stale: 0,
  orphan: 0,
  divergent: 0,
});

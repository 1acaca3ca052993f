import { CronExpressionParser } from 'cron-parser';
import { TidemarkError } from '../errors.js';
import type { Schedule, Topology } from '../topology/model.js';
import type { Reconciler, RunOptions } from './reconciler.js';
import type { RunReport } from './report.js';

/** When a schedule next fires strictly after `after` (cron in UTC). */
export function nextRunAt(schedule: Schedule, after: Date): Date {
  if (schedule.every !== undefined) return new Date(after.getTime() + schedule.everyMs);
  return CronExpressionParser.parse(schedule.cron, { currentDate: after, tz: 'UTC' }).next().toDate();
}

export interface ScheduledReconciliation {
  /** Stops scheduling; waits for a run in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Runs `reconciler` on its flow's schedule from the topology (or `schedule`), one run at a
 * time; a run that fails is reported and the next one still happens.
 */
export function scheduleReconciliation(
  reconciler: Reconciler,
  options: {
    readonly topology?: Topology;
    readonly schedule?: Schedule;
    readonly run?: Omit<RunOptions, 'dryRun'>;
    readonly onReport?: (report: RunReport) => void;
    readonly onError?: (error: unknown) => void;
  },
): ScheduledReconciliation {
  const schedule = options.schedule ?? options.topology?.reconciliationOf(reconciler.flow)?.schedule;
  if (!schedule) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `flow '${reconciler.flow}' has no reconciliation schedule; add one under reconciliation in the topology ` +
        `(- flow: ${reconciler.flow}, every: 15m, repair: republish) or pass schedule`,
      { context: { flow: reconciler.flow } },
    );
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const plan = () => {
    if (stopped) return;
    const delay = Math.max(0, nextRunAt(schedule, new Date()).getTime() - Date.now());
    timer = setTimeout(() => {
      current = reconciler
        .run(options.run)
        .then((report) => options.onReport?.(report), options.onError ?? (() => undefined))
        .finally(plan);
    }, delay);
  };
  plan();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}

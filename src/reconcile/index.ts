export {
  authorityDigests,
  copyingFlows,
  type AuthorityDigests,
  type AuthorityDigestOptions,
} from './authority.js';
export {
  replicaDigests,
  reconciledHandler,
  repairEventType,
  type ReplicaDigests,
  type ReplicaDigestOptions,
  type ReplicaRow,
} from './replica.js';
export { bucketCount, bucketOf, rowDigest, pickFields } from './digest.js';
export { driftClasses, type DriftClass, type Finding } from './compare.js';
export { pullSource, repairPlan, type RepairPlan, type StateSource, type RepairOutcome } from './repair.js';
export { createReconciler, type Reconciler, type ReconcilerOptions, type RunOptions } from './reconciler.js';
export type { RunReport } from './report.js';
export { reconcileExceptions, type ReconcileException } from './exceptions.js';
export { rebuildDigests, type StateRow } from './rebuild.js';
export { nextRunAt, scheduleReconciliation, type ScheduledReconciliation } from './schedule.js';

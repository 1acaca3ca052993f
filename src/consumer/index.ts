export { createConsumer } from './consumer.js';
export type {
  Consumer,
  ConsumerOptions,
  EntityHandler,
  ApplyContext,
  Outcome,
  OutcomeKind,
  Logger,
  RetryPolicy,
  RepairResult,
  RebuildResult,
} from './types.js';
export { decide, type ApplyDecision } from './apply-rules.js';
export type {
  GapHeal,
  GapHealResult,
  GapHealingOptions,
  HealedEntity,
  GapHealingSource,
} from './gap-healing.js';
export {
  bootstrapConsumer,
  type BootstrapOptions,
  type BootstrapResult,
  type SnapshotRow,
} from './bootstrap.js';

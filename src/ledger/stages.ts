/**
 * The stages a change passes through, in the order they are reached. A context's stages only
 * move forward: a later stage never disappears, and an earlier one is implied by a later one.
 * `held`, `deferred` and `blocked` are the consumer rules' waiting states; `applied` or
 * `rejected` ends them.
 */
export const ledgerStages = [
  'accepted',
  'validated',
  'published',
  'delivered',
  'held',
  'deferred',
  'blocked',
  'applied',
  'rejected',
  'reconciled',
  'settled',
] as const;
export type LedgerStage = (typeof ledgerStages)[number];

/** Reached at the authority: derived from its outbox and relay, never written per event. */
export const authorityLedgerStages = ['accepted', 'validated', 'published'] as const;

/** The waiting states a consumer rule can put a change in. */
export const waitingStages = ['held', 'deferred', 'blocked'] as const;
export type WaitingStage = (typeof waitingStages)[number];

const rank = new Map<LedgerStage, number>(ledgerStages.map((stage, i) => [stage, i]));

/** Position of a stage in the order changes mature (for sorting and monotonicity checks). */
export function stageRank(stage: LedgerStage): number {
  return rank.get(stage) ?? -1;
}

export function isLedgerStage(value: string): value is LedgerStage {
  return rank.has(value as LedgerStage);
}

/** One stage of one version of one entity in one context, with its temporal metadata. */
export interface StageRecord {
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  /** The context that reached the stage (the authority for accepted/validated/published). */
  readonly context: string;
  readonly stage: LedgerStage;
  /** Processing time: when the stage was reached (default: the transaction's now()). */
  readonly at?: Date | string;
  /** The authority context of the entity type. */
  readonly authority: string;
  readonly eventId?: string;
  /** When the change happened at the authority (the event's `time`). */
  readonly eventTime?: Date | string;
  /** When the change takes effect in the business (the event's `effectivetime`). */
  readonly effectiveTime?: Date | string;
  readonly correlationId?: string;
  readonly causationId?: string;
  /**
   * What the stage needs to be understood: `state` of a hold (`under-review`), `until` of a
   * deferral, `reason` of a block or rejection, `calendar` of a deferral.
   */
  readonly detail?: Readonly<Record<string, unknown>>;
}

import type { LedgerStage } from './stages.js';

/** One stage on an entity's timeline, as the ledger reads it back. */
export interface TimelineEntry {
  readonly version: number;
  readonly context: string;
  readonly stage: LedgerStage;
  /** Processing time: when the context reached the stage. */
  readonly at: string;
  readonly eventId?: string;
  /** The domain event type that carried the change, where known (`CustomerAddressChanged`). */
  readonly eventType?: string;
  readonly eventTime?: string;
  readonly effectiveTime?: string;
  readonly correlationId?: string;
  readonly causationId?: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Where one context stands with one version. */
export interface ContextProgress {
  readonly context: string;
  /** The furthest stage reached, taking deferrals that have come due as applied. */
  readonly stage: LedgerStage | 'pending';
  readonly since?: string;
  /** For held/deferred/blocked/rejected: the state, the date, or the reason. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface ReadinessRequirementState {
  readonly requirement: string;
  readonly met: boolean;
  readonly context: string;
  readonly stage: string;
  /** Where that context is instead, when not met. */
  readonly actual?: ContextProgress;
}

export interface Readiness {
  readonly decision: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  readonly ready: boolean;
  /** Requirements not met yet, e.g. `applied@billing`. */
  readonly missing: readonly string[];
  /** Contexts whose rules hold the change: `{ context, stage, detail }`. */
  readonly heldBy: readonly ContextProgress[];
  /** One sentence a support agent can read out. */
  readonly explanation: string;
  /** The cut-off the decision waits for, when it has one and it has not passed. */
  readonly waitsUntil?: string;
}

export interface VersionStatus {
  readonly version: number;
  /** The event types of this version (`CustomerAddressChanged`, `customer.state`). */
  readonly eventTypes: readonly string[];
  readonly acceptedAt: string;
  readonly publishedAt?: string;
  readonly contexts: readonly ContextProgress[];
  /** Every required context applied and reconciled this version (or a later one). */
  readonly settled: boolean;
}

export interface EntityStatus {
  readonly entityType: string;
  readonly entityId: string;
  readonly authority: string;
  readonly latestVersion: number;
  readonly versions: readonly VersionStatus[];
  readonly decisions: readonly Readiness[];
  /** The support agent's answer, several sentences. */
  readonly summary: string;
}

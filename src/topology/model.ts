import type { BackboneSetting } from './backbone.js';

/**
 * The validated topology: what `parseTopology` returns once a `tidemark.yaml` has no errors.
 * Every value is frozen; defaults are filled in, so readers never deal with a missing field.
 */

/** How a consumer context learns about and obtains an entity type (DESIGN: propagation strategies). */
export const strategies = ['push-state', 'push-domain', 'notify-fetch', 'pull'] as const;
export type Strategy = (typeof strategies)[number];

/** How fresh a consumer's reads must be. */
export const tiers = ['strong', 'bounded', 'eventual'] as const;
export type Tier = (typeof tiers)[number];

/** What a reconciliation run does with a difference it finds. */
export const repairPolicies = ['republish', 'rehydrate', 'tombstone', 'exception'] as const;
export type RepairPolicy = (typeof repairPolicies)[number];

/** Maturity stages reached in the authority context. */
export const authorityStages = ['accepted', 'validated', 'published'] as const;
/** Maturity stages reached in a consumer context. */
export const consumerStages = ['delivered', 'applied', 'reconciled', 'settled'] as const;
export const stages = [...authorityStages, ...consumerStages] as const;
export type Stage = (typeof stages)[number];

/** The kinds of consumer rule, each named by the key that introduces it in the file. */
export const ruleKinds = ['hold', 'deferred-until', 'blocked-when'] as const;
export type RuleKind = (typeof ruleKinds)[number];

export interface Context {
  readonly name: string;
  readonly description: string;
}

export interface EntityType {
  readonly name: string;
  /** The one context allowed to write this entity type. */
  readonly authority: string;
  readonly description: string;
}

/**
 * A consumer rule keeps a change from taking effect at once. Rules are declarations: the
 * consumer runtime and the ledger give them meaning (a held state, a deferral, a block).
 */
export type ConsumerRule =
  | {
      readonly kind: 'hold';
      /** The held state the change waits in, e.g. `under-review`, until someone releases it. */
      readonly state: string;
      /** Hold only while this condition is true; absent: hold every change. */
      readonly when?: string;
      readonly description: string;
    }
  | {
      readonly kind: 'deferred-until';
      /** The calendar whose next occurrence makes the change effective. */
      readonly calendar: string;
      readonly description: string;
    }
  | {
      readonly kind: 'blocked-when';
      /** While this condition holds for the entity, changes wait. */
      readonly condition: string;
      readonly description: string;
    };

export interface Flow {
  readonly name: string;
  readonly entityType: string;
  /** The authority context of `entityType`. */
  readonly source: string;
  readonly consumer: string;
  readonly strategy: Strategy;
  readonly tier: Tier;
  /** Only for the `bounded` tier: the oldest a local copy may be before a read fetches. */
  readonly maxStalenessMs?: number;
  readonly rules: readonly ConsumerRule[];
  /**
   * The consumer's field allow-list (dotted paths such as `address.city`); absent: every field
   * except those its schemas tag `x-pii`. A flow with a list makes its consumer restricted: the
   * relay sends it a minimized copy of each event and never the full one (docs/schema.md).
   */
  readonly fields?: readonly string[];
  /** The PII-tagged fields of `fields` this consumer is explicitly allowed (the opt-in). */
  readonly pii: readonly string[];
  readonly description: string;
}

export interface Requirement {
  readonly stage: Stage;
  readonly context: string;
}

export interface Decision {
  readonly name: string;
  readonly entityType: string;
  readonly description: string;
  /** Every requirement must be met for the decision to use a version, e.g. `applied@billing`. */
  readonly requires: readonly Requirement[];
  /** A calendar whose cut-off must also have passed. */
  readonly cutOff?: string;
}

export interface Calendar {
  readonly name: string;
  readonly description: string;
  /** Five-field cron expression of its occurrences, when it has a regular one. */
  readonly cron?: string;
}

export interface Condition {
  readonly name: string;
  readonly description: string;
}

export type Schedule =
  | { readonly every: string; readonly everyMs: number }
  | { readonly cron: string; readonly every?: undefined };

export interface ReconciliationSchedule {
  readonly flow: string;
  readonly schedule: Schedule;
  readonly repair: RepairPolicy;
}

export interface Topology {
  readonly version: 1;
  readonly contexts: readonly Context[];
  readonly entityTypes: readonly EntityType[];
  readonly flows: readonly Flow[];
  readonly decisions: readonly Decision[];
  readonly calendars: readonly Calendar[];
  readonly conditions: readonly Condition[];
  readonly reconciliation: readonly ReconciliationSchedule[];
  /** Which backbone carries the events (default: postgres-log, no url). */
  readonly backbone: BackboneSetting;
  /** The authority context of an entity type; throws `TM_UNKNOWN_ENTITY_TYPE` for an undeclared type. */
  authorityOf(entityType: string): string;
  /** Flows whose consumer is `context`, in file order (empty for an unknown context). */
  flowsTo(context: string): readonly Flow[];
  /** The contexts that receive an entity type, in file order (empty for an unknown type). */
  consumersOf(entityType: string): readonly string[];
  /** A decision by name; throws `TM_UNKNOWN_DECISION` naming the declared ones. */
  decision(name: string): Decision;
  /** The flow of an entity type into a context, if there is one. */
  flowOf(entityType: string, consumer: string): Flow | undefined;
  /** The reconciliation schedule of a flow, if it has one. */
  reconciliationOf(flow: string): ReconciliationSchedule | undefined;
}

import { TidemarkError, UnknownEntityTypeError } from '../errors.js';
import { durationMs } from './cron.js';
import type {
  Calendar,
  Condition,
  ConsumerRule,
  Context,
  Decision,
  EntityType,
  Flow,
  ReconciliationSchedule,
  RepairPolicy,
  Requirement,
  Stage,
  Strategy,
  Tier,
  Topology,
} from './model.js';
import { didYouMean, listOf } from './suggest.js';
import { buildBackbone, type BackboneKind } from './backbone.js';

/** The document as the schema guarantees it after defaults (see schema.ts). */
export interface TopologyDocument {
  version: 1;
  contexts: { name: string; description: string }[];
  entityTypes: { name: string; authority: string; description: string }[];
  flows: {
    name: string;
    entityType: string;
    source: string;
    consumer: string;
    strategy: Strategy;
    tier: Tier;
    maxStalenessMs?: number;
    rules: {
      hold?: string;
      'deferred-until'?: string;
      'blocked-when'?: string;
      when?: string;
      description: string;
    }[];
    fields?: string[];
    pii: string[];
    description: string;
  }[];
  decisions: { name: string; entityType: string; requires: string[]; cutOff?: string; description: string }[];
  calendars: { name: string; cron?: string; description: string }[];
  conditions: { name: string; description: string }[];
  reconciliation: { flow: string; every?: string; cron?: string; repair: RepairPolicy }[];
  backbone: { kind: BackboneKind; url?: string; name: string; partitions?: number };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function rule(raw: TopologyDocument['flows'][number]['rules'][number]): ConsumerRule {
  const description = raw.description;
  if (raw.hold !== undefined) {
    return raw.when === undefined
      ? { kind: 'hold', state: raw.hold, description }
      : { kind: 'hold', state: raw.hold, when: raw.when, description };
  }
  if (raw['deferred-until'] !== undefined) {
    return { kind: 'deferred-until', calendar: raw['deferred-until'], description };
  }
  return { kind: 'blocked-when', condition: raw['blocked-when']!, description };
}

/**
 * Builds the frozen {@link Topology} of a document that passed the schema and the semantic
 * checks; it relies on both (every reference resolves, every rule has one kind).
 */
export function buildTopology(doc: TopologyDocument): Topology {
  const contexts: Context[] = doc.contexts.map((c) => ({ name: c.name, description: c.description }));
  const entityTypes: EntityType[] = doc.entityTypes.map((t) => ({
    name: t.name,
    authority: t.authority,
    description: t.description,
  }));
  const flows: Flow[] = doc.flows.map((f) => ({
    name: f.name,
    entityType: f.entityType,
    source: f.source,
    consumer: f.consumer,
    strategy: f.strategy,
    tier: f.tier,
    ...(f.maxStalenessMs === undefined ? {} : { maxStalenessMs: f.maxStalenessMs }),
    rules: f.rules.map(rule),
    ...(f.fields === undefined ? {} : { fields: [...new Set(f.fields)] }),
    pii: [...new Set(f.pii)],
    description: f.description,
  }));
  const decisions: Decision[] = doc.decisions.map((d) => ({
    name: d.name,
    entityType: d.entityType,
    description: d.description,
    requires: d.requires.map((text): Requirement => {
      const at = text.indexOf('@');
      return { stage: text.slice(0, at) as Stage, context: text.slice(at + 1) };
    }),
    ...(d.cutOff === undefined ? {} : { cutOff: d.cutOff }),
  }));
  const calendars: Calendar[] = doc.calendars.map((c) => ({
    name: c.name,
    description: c.description,
    ...(c.cron === undefined ? {} : { cron: c.cron }),
  }));
  const conditions: Condition[] = doc.conditions.map((c) => ({ name: c.name, description: c.description }));
  const reconciliation: ReconciliationSchedule[] = doc.reconciliation.map((s) => ({
    flow: s.flow,
    schedule: s.every !== undefined ? { every: s.every, everyMs: durationMs(s.every)! } : { cron: s.cron! },
    repair: s.repair,
  }));

  const authority = new Map(entityTypes.map((t) => [t.name, t.authority]));
  const decisionByName = new Map(decisions.map((d) => [d.name, d]));
  const scheduleByFlow = new Map(reconciliation.map((s) => [s.flow, s]));

  const topology: Topology = {
    version: 1,
    contexts,
    entityTypes,
    flows,
    decisions,
    calendars,
    conditions,
    reconciliation,
    backbone: buildBackbone(doc.backbone),
    authorityOf(entityType) {
      const owner = authority.get(entityType);
      if (owner === undefined) throw new UnknownEntityTypeError(entityType, [...authority.keys()]);
      return owner;
    },
    flowsTo(context) {
      return Object.freeze(flows.filter((f) => f.consumer === context));
    },
    consumersOf(entityType) {
      return Object.freeze(flows.filter((f) => f.entityType === entityType).map((f) => f.consumer));
    },
    decision(name) {
      const found = decisionByName.get(name);
      if (!found) {
        const known = [...decisionByName.keys()];
        throw new TidemarkError(
          'TM_UNKNOWN_DECISION',
          `decision '${name}' is not in the topology; declared decisions: ${listOf(known)}${didYouMean(name, known)}`,
          { context: { decision: name, known } },
        );
      }
      return found;
    },
    flowOf(entityType, consumer) {
      return flows.find((f) => f.entityType === entityType && f.consumer === consumer);
    },
    reconciliationOf(flow) {
      return scheduleByFlow.get(flow);
    },
  };
  return deepFreeze(topology);
}

import { createHash } from 'node:crypto';
import { consumerLockKey } from '../consumer/apply.js';
import { consumerStatements } from '../consumer/sql.js';
import type { Consumer } from '../consumer/types.js';
import { activeStatuses } from '../dlq/sql.js';
import { createEnvelope, defaultPartitionKey } from '../envelope/create.js';
import type { Envelope } from '../envelope/types.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import type { Producer } from '../producer/producer.js';
import type { PullClient } from '../pull/client.js';
import type { Db } from '../store/db.js';
import type { RepairPolicy } from '../topology/model.js';
import { driftClasses, type DriftClass } from './compare.js';
import { repairEventType } from './replica.js';

/** The authority's current state of an entity, for republish and rehydrate. */
export interface StateSource {
  fetch(entityId: string): Promise<{ version: number; state: unknown } | undefined>;
}

/** Rehydrate by pull: the authority's read API through the pull client (strong reads). */
export function pullSource(client: PullClient, entityType: string): StateSource {
  return {
    async fetch(entityId) {
      try {
        const entity = await client.get(entityType, entityId);
        return { version: entity.version, state: entity.state };
      } catch (error) {
        if (isTidemarkError(error, 'TM_ENTITY_NOT_FOUND')) return undefined;
        throw error;
      }
    },
  };
}

export type RepairPlan = Readonly<Record<DriftClass, RepairPolicy>>;

/**
 * The repair of each class from a flow's policy: republish or rehydrate bring back what the
 * authority has (an orphan, which it lacks, is tombstoned); `tombstone` tombstones orphans and
 * leaves the rest to a person; `exception` leaves everything to a person. Overrides per class win.
 */
export function repairPlan(
  policy: RepairPolicy,
  overrides: Partial<Record<DriftClass, RepairPolicy>> = {},
): RepairPlan {
  const base: Record<DriftClass, RepairPolicy> =
    policy === 'republish' || policy === 'rehydrate'
      ? { missing: policy, stale: policy, divergent: policy, orphan: 'tombstone' }
      : policy === 'tombstone'
        ? { missing: 'exception', stale: 'exception', divergent: 'exception', orphan: 'tombstone' }
        : { missing: 'exception', stale: 'exception', divergent: 'exception', orphan: 'exception' };
  const plan = { ...base, ...overrides };
  for (const cls of driftClasses) {
    const chosen = plan[cls];
    const allowed: readonly RepairPolicy[] =
      cls === 'orphan' ? ['tombstone', 'exception'] : ['republish', 'rehydrate', 'exception'];
    if (!allowed.includes(chosen)) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `'${chosen}' cannot repair ${cls === 'orphan' ? 'an' : 'a'} ${cls} row: use ${allowed.join(' or ')} for ${cls}` +
          (cls === 'orphan' ? ' (the authority has nothing to send for it)' : ''),
        { context: { class: cls, repair: chosen } },
      );
    }
  }
  return plan;
}

/** A stable event id per (run, entity, version, kind): a resumed run's repeat is a duplicate in the inbox. */
export function repairEventId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface RepairTools {
  readonly flow: string;
  readonly entityType: string;
  readonly authorityContext: string;
  readonly consumerName: string;
  readonly replicaDb: Db;
  /** Quoted schema of the consumer's bookkeeping. */
  readonly replicaS: string;
  readonly authorityDb: Db;
  readonly source?: StateSource;
  readonly consumer?: Consumer;
  readonly producer?: Producer;
}

function need<T>(value: T | undefined, what: string, policy: RepairPolicy, flow: string): T {
  if (value === undefined) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `repair '${policy}' of flow '${flow}' needs ${what}; pass it to createReconciler, or choose the ` +
        "'exception' repair (or --dry-run) to only report",
      { context: { flow, repair: policy } },
    );
  }
  return value;
}

/** Checks up front that every repair the plan may choose has what it needs. */
export function checkTools(plan: RepairPlan, tools: RepairTools): void {
  for (const policy of new Set(Object.values(plan))) {
    if (policy === 'rehydrate' || policy === 'republish')
      need(tools.source, "the authority's state (source: pullSource(client, type))", policy, tools.flow);
    if (policy === 'rehydrate' || policy === 'tombstone')
      need(tools.consumer, "the replica's consumer (its handle() is the repair path)", policy, tools.flow);
    if (policy === 'republish') need(tools.producer, "the authority's producer", policy, tools.flow);
  }
}

/**
 * The consumer's applied version can claim a version its projection does not hold (a row
 * deleted or edited behind the consumer's back). The apply rules would then take a repair
 * for a duplicate, so the applied version is moved back to just below the repair's, under the
 * consumer's own entity lock. Only bookkeeping moves; the projection is written by the handler.
 */
export async function rewindAppliedVersion(
  tools: RepairTools,
  entityId: string,
  target: number,
): Promise<(() => Promise<void>) | undefined> {
  const previous = await moveAppliedVersion(tools, entityId, (version) =>
    version >= target ? target - 1 : undefined,
  );
  if (previous === undefined) return undefined;
  // Puts the applied version back if the repair did not take effect and nothing moved it since.
  return async () => {
    await moveAppliedVersion(tools, entityId, (version) => (version === target - 1 ? previous : undefined));
  };
}

/** Sets the consumer's applied version to `next(current)` under its entity lock; returns the old one if it moved. */
async function moveAppliedVersion(
  tools: RepairTools,
  entityId: string,
  next: (current: number) => number | undefined,
): Promise<number | undefined> {
  const sql = consumerStatements(tools.replicaS);
  const key = [tools.consumerName, tools.entityType, entityId];
  return tools.replicaDb.transaction(async (tx) => {
    await tx.query(sql.lockEntity, [JSON.stringify(key), consumerLockKey(tools.consumerName)]);
    const applied = await tx.query<{ version: string }>(sql.projectionVersion, key);
    const version = Number(applied.rows[0]?.version ?? 0);
    const to = next(version);
    if (to === undefined || to === version) return undefined;
    await tx.query(
      `DELETE FROM ${tools.replicaS}.consumer_entities WHERE consumer = $1 AND entity_type = $2 AND entity_id = $3`,
      key,
    );
    if (to > 0) await tx.query(sql.setApplied, [...key, to]);
    return version;
  });
}

/** Applies `envelope` through the consumer; undoes the bookkeeping move if it did not take effect. */
async function applyRepair(
  tools: RepairTools,
  envelope: Envelope,
  undo: (() => Promise<void>) | undefined,
  success: RepairOutcome,
): Promise<RepairAttempt> {
  let attempt: RepairAttempt;
  try {
    attempt = outcomeOf(
      (await tools.consumer!.handle(envelope)).map((o) => o.kind),
      success,
    );
  } catch (error) {
    await undo?.();
    throw error;
  }
  if (attempt.outcome === 'failed') await undo?.();
  return attempt;
}

export type RepairOutcome =
  'repaired' | 'republished' | 'tombstoned' | 'exception' | 'in-flight' | 'moving' | 'failed';

export interface RepairAttempt {
  readonly outcome: RepairOutcome;
  readonly note?: string;
}

/**
 * The dead letter a key is parked behind, if any. A repair pushed into a parked key would only
 * join its queue as another parked dead letter, so the key is left to a person instead.
 */
export async function parkedBehind(tools: RepairTools, entityId: string): Promise<RepairAttempt | undefined> {
  const head = await tools.replicaDb.query<{ id: string }>(
    `SELECT id FROM ${tools.replicaS}.dead_letters
      WHERE consumer = $1 AND status IN ${activeStatuses}
        AND (partition_key = $2 OR (entity_type = $3 AND entity_id = $4))
      ORDER BY id LIMIT 1`,
    [tools.consumerName, defaultPartitionKey(tools.entityType, entityId), tools.entityType, entityId],
  );
  const id = head.rows[0]?.id;
  if (id === undefined) return undefined;
  return {
    outcome: 'exception',
    note: `key parked behind dead letter #${id}: repair after the dead letter is settled`,
  };
}

/** Brings the authority's current state to the replica through the consumer (rehydrate) or the outbox (republish). */
export async function sendState(
  tools: RepairTools,
  policy: 'rehydrate' | 'republish',
  runId: number,
  entityId: string,
  expectedVersion: number,
): Promise<RepairAttempt> {
  const current = await tools.source!.fetch(entityId);
  if (!current || current.version !== expectedVersion) return { outcome: 'moving' };
  const parked = await parkedBehind(tools, entityId);
  if (parked) return parked;
  const id = repairEventId(tools.flow, String(runId), entityId, String(current.version), policy);
  const correlationId = `reconcile:${tools.flow}:${runId}`;
  const undo = await rewindAppliedVersion(tools, entityId, current.version);
  if (policy === 'republish') {
    await tools.authorityDb.transaction((tx) =>
      tools.producer!.append(
        tx,
        { type: tools.entityType, id: entityId },
        { kind: 'state', type: repairEventType(tools.entityType), data: current.state },
        { version: current.version, id, correlationId },
      ),
    );
    return { outcome: 'republished' };
  }
  const envelope = createEnvelope({
    kind: 'state',
    type: repairEventType(tools.entityType),
    authority: tools.authorityContext,
    entityType: tools.entityType,
    entityId,
    entityVersion: current.version,
    data: current.state,
    id,
    correlationId,
  });
  return applyRepair(tools, envelope, undo, 'repaired');
}

/** Removes an orphan through the consumer: a tombstone one version above what the replica holds. */
export async function tombstone(
  tools: RepairTools,
  runId: number,
  entityId: string,
  replicaVersion: number,
): Promise<RepairAttempt> {
  const parked = await parkedBehind(tools, entityId);
  if (parked) return parked;
  const version = replicaVersion + 1;
  const undo = await rewindAppliedVersion(tools, entityId, version);
  const envelope = createEnvelope({
    kind: 'tombstone',
    type: repairEventType(tools.entityType),
    authority: tools.authorityContext,
    entityType: tools.entityType,
    entityId,
    entityVersion: version,
    id: repairEventId(tools.flow, String(runId), entityId, String(version), 'tombstone'),
    correlationId: `reconcile:${tools.flow}:${runId}`,
  });
  return applyRepair(tools, envelope, undo, 'tombstoned');
}

function outcomeOf(kinds: readonly string[], success: RepairOutcome): RepairAttempt {
  if (kinds.includes('applied')) return { outcome: success };
  return {
    outcome: 'failed',
    note: `the consumer did not apply the repair (${kinds.join(', ') || 'no outcome'}): its handler must take state and tombstone events, and nothing may be dead-lettered for the key`,
  };
}

import { TidemarkError, isTidemarkError } from '../errors.js';
import { diagnoseHorizon } from '../relay/horizon.js';
import type { Db, Unlisten } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import type { Topology } from '../topology/model.js';
import { sayProgress } from './explain.js';
import { createLedger, type Ledger } from './ledger.js';
import { meets, progressOf } from './progress.js';
import { ledgerChannel } from './record.js';
import { authorityLedgerStages, isLedgerStage, ledgerStages, type LedgerStage } from './stages.js';
import type { ContextProgress, Readiness, TimelineEntry } from './types.js';

/** What to wait for: a stage in a context, or a decision becoming ready. */
export interface WaitTarget {
  readonly entity: { readonly type: string; readonly id: string };
  /** The version that must get there (default: the latest accepted when the wait starts). */
  readonly version?: number;
  /** The stage to reach (with `context`, or alone for the authority's stages). */
  readonly stage?: string;
  /** The context that must reach `stage` (default: the authority, for accepted/validated/published). */
  readonly context?: string;
  /** Instead of a stage: the business decision that must be ready (needs a topology). */
  readonly decision?: string;
  /** Longest wait, at most the waiter's `maxTimeoutMs`. */
  readonly timeoutMs: number;
  /** Aborting ends the wait at once (rejects with the signal's reason) and frees its resources. */
  readonly signal?: AbortSignal;
}

export interface WaitOutcome {
  readonly entityType: string;
  readonly entityId: string;
  readonly version: number;
  /** `applied@billing`, or `decision send-letter`. */
  readonly waitedFor: string;
  /** For a stage in a consumer context: where it stands now. */
  readonly progress?: ContextProgress;
  /** For a decision: its readiness now. */
  readonly readiness?: Readiness;
}

/** Why one context is not where the wait needs it (`TM_WAIT_TIMEOUT`'s `context.missing`). */
export interface MissingContext {
  readonly context: string;
  readonly reason:
    | 'pending'
    | 'delivered'
    | 'held'
    | 'deferred'
    | 'blocked'
    | 'rejected'
    | 'dead-lettered'
    | 'parked'
    | 'lagging'
    | 'unpublished'
    | 'cut-off';
  readonly detail: Readonly<Record<string, unknown>>;
  /** Events ahead of the context in its consumer group (postgres-log in the same schema). */
  readonly lagEvents?: number;
  readonly explanation: string;
}

export interface LedgerWaiterOptions {
  /** The authority's database (ledger, outbox, relay marks). */
  readonly db: Db;
  readonly schema?: string;
  /** Names the valid contexts and the decisions; without it, any context is accepted. */
  readonly topology?: Topology;
  /** Longest `timeoutMs` accepted (default 60 s). */
  readonly maxTimeoutMs?: number;
  readonly now?: () => Date;
}

export interface LedgerWaiter {
  /**
   * Resolves when the ledger shows `stage` in `context` (or `decision` ready) for the version;
   * rejects with `TM_WAIT_TIMEOUT` naming who is missing and why. Wakes on the ledger's
   * notifications, never by polling: one LISTEN per database and schema serves every waiter.
   */
  waitFor(target: WaitTarget): Promise<WaitOutcome>;
  /** Waits in progress (of this waiter). */
  readonly waiting: number;
  /** Ends every wait in progress with `TM_CLOSED`. */
  close(): Promise<void>;
}

export const defaultMaxWaitMs = 60_000;

const authorityStages = new Set<string>(authorityLedgerStages);
const exactStages = new Set<string>(['held', 'deferred', 'blocked', 'rejected']);

/** One notification subscription per (database, schema), fanned out by entity. */
interface Hub {
  readonly byEntity: Map<string, Set<() => void>>;
  count: number;
  unlisten: Unlisten | undefined;
  /** Listen and unlisten one after the other, so they never overlap on a channel. */
  queue: Promise<void>;
}

const hubs = new WeakMap<Db, Map<string, Hub>>();
const entityKey = (type: string, id: string) => `${type}\u0000${id}`;

function hubOf(db: Db, schema: string): Hub {
  let bySchema = hubs.get(db);
  if (!bySchema) hubs.set(db, (bySchema = new Map()));
  let hub = bySchema.get(schema);
  if (!hub)
    bySchema.set(
      schema,
      (hub = { byEntity: new Map(), count: 0, unlisten: undefined, queue: Promise.resolve() }),
    );
  return hub;
}

function wake(hub: Hub, payload: string): void {
  let pairs: unknown;
  try {
    pairs = payload === '' || payload === '*' ? undefined : JSON.parse(payload);
  } catch {
    pairs = undefined;
  }
  if (!Array.isArray(pairs)) {
    // Missed notifications (a reconnect) or too many entities for one payload: everyone looks.
    for (const set of hub.byEntity.values()) for (const recheck of set) recheck();
    return;
  }
  for (const pair of pairs) {
    if (!Array.isArray(pair)) continue;
    const set = hub.byEntity.get(entityKey(String(pair[0]), String(pair[1])));
    if (set) for (const recheck of set) recheck();
  }
}

async function join(db: Db, schema: string, key: string, recheck: () => void): Promise<() => void> {
  const hub = hubOf(db, schema);
  let set = hub.byEntity.get(key);
  if (!set) hub.byEntity.set(key, (set = new Set()));
  set.add(recheck);
  hub.count++;
  let left = false;
  const leave = () => {
    if (left) return;
    left = true;
    set.delete(recheck);
    if (set.size === 0 && hub.byEntity.get(key) === set) hub.byEntity.delete(key);
    if (--hub.count === 0) {
      hub.queue = hub.queue.then(async () => {
        if (hub.count > 0 || !hub.unlisten) return;
        const unlisten = hub.unlisten;
        hub.unlisten = undefined;
        await unlisten().catch(() => undefined);
      });
    }
  };
  const listening = hub.queue.then(async () => {
    if (!hub.unlisten) hub.unlisten = await db.listen(ledgerChannel(schema), (payload) => wake(hub, payload));
  });
  hub.queue = listening.catch(() => undefined);
  try {
    await listening;
  } catch (error) {
    leave();
    throw error;
  }
  return leave;
}

const list = (values: readonly string[]) => (values.length > 0 ? values.join(', ') : '(none)');

function invalid(message: string, context: Record<string, unknown>): TidemarkError {
  return new TidemarkError('TM_INVALID_ARGUMENT', message, { context });
}

/** Creates waiters over the ledger of `schema` in `db`. */
export function createLedgerWaiter(options: LedgerWaiterOptions): LedgerWaiter {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  const { db, topology } = options;
  const now = options.now ?? (() => new Date());
  const maxTimeoutMs = options.maxTimeoutMs ?? defaultMaxWaitMs;
  const ledger: Ledger = createLedger({ db, schema, ...(topology ? { topology } : {}), now });
  const active = new Set<(error: unknown) => void>();

  interface Plan {
    readonly type: string;
    readonly id: string;
    readonly stage?: LedgerStage;
    readonly context?: string;
    readonly decision?: string;
    readonly label: string;
  }

  function plan(target: WaitTarget): Plan {
    const { entity, stage, context, decision, timeoutMs } = target;
    if (
      !entity ||
      typeof entity.type !== 'string' ||
      !entity.type ||
      typeof entity.id !== 'string' ||
      !entity.id
    ) {
      throw invalid(
        'entity must be { type, id } with two non-empty strings, e.g. { type: "customer", id: "42" }',
        {
          entity,
        },
      );
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > maxTimeoutMs) {
      throw invalid(
        `timeoutMs must be between 1 and ${maxTimeoutMs} ms (the configured maximum), got ${String(timeoutMs)}`,
        {
          timeoutMs,
          maxTimeoutMs,
        },
      );
    }
    if (target.version !== undefined && !(Number.isSafeInteger(target.version) && target.version > 0)) {
      throw invalid(`version must be a positive integer, got ${String(target.version)}`, {
        version: target.version,
      });
    }
    if (decision !== undefined) {
      if (stage !== undefined || context !== undefined) {
        throw invalid('wait for a decision or for a stage in a context, not both', {
          decision,
          stage,
          context,
        });
      }
      if (!topology) {
        throw new TidemarkError(
          'TM_UNKNOWN_DECISION',
          `decision '${decision}' cannot be judged without a topology; pass topology to createLedgerWaiter`,
          { context: { decision } },
        );
      }
      const found = topology.decision(decision);
      if (found.entityType !== entity.type) {
        const about = topology.decisions.filter((d) => d.entityType === entity.type).map((d) => d.name);
        throw invalid(
          `decision '${decision}' is about ${found.entityType}, not ${entity.type}; decisions about ${entity.type}: ${list(about)}`,
          {
            decision,
            entityType: entity.type,
            valid: about,
          },
        );
      }
      return { type: entity.type, id: entity.id, decision, label: `decision ${decision}` };
    }
    if (stage === undefined || !isLedgerStage(stage)) {
      throw invalid(
        `unknown stage ${JSON.stringify(stage)}; valid stages: ${ledgerStages.join(', ')} (or pass decision instead)`,
        {
          stage,
          valid: ledgerStages,
        },
      );
    }
    if (context === undefined && !authorityStages.has(stage)) {
      throw invalid(`stage '${stage}' is reached per context: name the context (e.g. context: "billing")`, {
        stage,
      });
    }
    if (context !== undefined && topology) {
      const valid = [topology.authorityOf(entity.type), ...topology.consumersOf(entity.type)].filter(
        (c): c is string => typeof c === 'string',
      );
      if (!valid.includes(context)) {
        throw invalid(`unknown context '${context}' for ${entity.type}; valid contexts: ${list(valid)}`, {
          context,
          entityType: entity.type,
          valid,
        });
      }
    }
    return {
      type: entity.type,
      id: entity.id,
      stage,
      ...(context === undefined ? {} : { context }),
      label: `${stage}@${context ?? 'authority'}`,
    };
  }

  const acceptedVersions = (entries: readonly TimelineEntry[]) =>
    entries.filter((e) => e.stage === 'accepted').map((e) => e.version);

  async function entriesOf(p: Plan): Promise<TimelineEntry[]> {
    try {
      return await ledger.timeline(p.type, p.id);
    } catch (error) {
      if (isTidemarkError(error, 'TM_ENTITY_NOT_FOUND')) return [];
      throw error;
    }
  }

  /** The outcome when the target is reached, else undefined. */
  async function check(p: Plan, version: number): Promise<WaitOutcome | undefined> {
    const entries = await entriesOf(p);
    if (!acceptedVersions(entries).includes(version)) return undefined;
    const base = { entityType: p.type, entityId: p.id, version, waitedFor: p.label };
    if (p.decision) {
      const readiness = await ledger.ready(p.decision, p.type, p.id, version);
      return readiness.ready ? { ...base, readiness } : undefined;
    }
    const authority = entries.find((e) => e.stage === 'accepted')!.context;
    const context = p.context ?? authority;
    const stage = p.stage!;
    if (authorityStages.has(stage)) {
      const done = entries.some((e) => e.context === authority && e.version >= version && e.stage === stage);
      return done ? base : undefined;
    }
    const progress = progressOf(entries, context, version, now());
    const done = exactStages.has(stage)
      ? entries.some((e) => e.context === context && e.version === version && e.stage === stage)
      : meets(progress, stage);
    return done ? { ...base, progress } : undefined;
  }

  /** Who is missing and why, for the timeout error. */
  async function diagnose(p: Plan, version: number): Promise<MissingContext[]> {
    const entries = await entriesOf(p);
    const at = now();
    const authority =
      entries.find((e) => e.stage === 'accepted')?.context ?? topology?.authorityOf(p.type) ?? 'authority';
    const missing: MissingContext[] = [];
    let contexts: string[];
    if (!acceptedVersions(entries).includes(version)) {
      return [
        {
          context: authority,
          reason: 'pending',
          detail: {},
          explanation: `${authority} has not accepted v${version} yet`,
        },
      ];
    }
    if (p.decision) {
      const readiness = await ledger.ready(p.decision, p.type, p.id, version);
      contexts = [...new Set(readiness.missing.map((m) => m.slice(m.indexOf('@') + 1)))];
      if (readiness.waitsUntil) {
        missing.push({
          context: authority,
          reason: 'cut-off',
          detail: { until: readiness.waitsUntil },
          explanation: `the decision's cut-off on ${readiness.waitsUntil} has not passed`,
        });
      }
    } else {
      contexts = [p.context ?? authority];
    }
    const consumers = contexts.filter((c) => c !== authority);
    if (contexts.includes(authority)) {
      const horizon = await diagnoseHorizon(db, s).catch(() => undefined);
      const published = entries.some(
        (e) => e.context === authority && e.version >= version && e.stage === 'published',
      );
      missing.push({
        context: authority,
        reason: 'unpublished',
        detail: horizon?.held ? { horizon } : {},
        explanation: published
          ? `${authority} has not reached ${p.stage ?? 'the stage'} yet`
          : `the relay has not published v${version} yet${horizon?.held ? `: ${horizon.explanation}` : ''}`,
      });
    }
    const dead = new Map<string, { id: number; status: string; reason: string }>();
    const lag = new Map<string, number>();
    if (consumers.length > 0) {
      const letters = await db
        .query<{ consumer: string; id: number; status: string; reason: string }>(
          `SELECT consumer, id, status, reason FROM ${s}.dead_letters
           WHERE entity_type = $1 AND entity_id = $2 AND consumer = ANY($3::text[])
             AND status IN ('open', 'retry', 'parked') ORDER BY id`,
          [p.type, p.id, consumers],
        )
        .catch(() => ({ rows: [] }));
      for (const row of letters.rows) if (!dead.has(row.consumer)) dead.set(row.consumer, row);
      const groups = await db
        .query<{ consumer_group: string; pending: number }>(
          `SELECT c.consumer_group, sum((SELECT count(*) FROM ${s}.log l
              WHERE l.partition = c.partition AND l.log_offset > c.log_offset))::int AS pending
           FROM ${s}.log_checkpoints c WHERE c.consumer_group = ANY($1::text[]) GROUP BY c.consumer_group`,
          [consumers],
        )
        .catch(() => ({ rows: [] }));
      for (const row of groups.rows) lag.set(row.consumer_group, Number(row.pending));
    }
    for (const context of consumers) {
      const progress = progressOf(entries, context, version, at);
      const said = sayProgress(progress, at);
      const letter = dead.get(context);
      if (exactStages.has(progress.stage)) {
        missing.push({
          context,
          reason: progress.stage as MissingContext['reason'],
          detail: progress.detail,
          explanation: said,
        });
      } else if (letter) {
        const reason = letter.status === 'parked' ? 'parked' : 'dead-lettered';
        missing.push({
          context,
          reason,
          detail: { deadLetter: letter.id, status: letter.status, failure: letter.reason },
          explanation:
            reason === 'parked'
              ? `${context} parked it behind dead letter ${letter.id} of the same key`
              : `${context} dead-lettered it (dead letter ${letter.id}: ${letter.reason})`,
        });
      } else if ((lag.get(context) ?? 0) > 0 && progress.stage === 'pending') {
        const n = lag.get(context)!;
        missing.push({
          context,
          reason: 'lagging',
          detail: {},
          lagEvents: n,
          explanation: `${context} is lagging ${n} event${n === 1 ? '' : 's'} behind`,
        });
      } else {
        missing.push({
          context,
          reason: progress.stage === 'pending' ? 'pending' : 'delivered',
          detail: progress.detail,
          ...(lag.has(context) ? { lagEvents: lag.get(context)! } : {}),
          explanation: said,
        });
      }
    }
    return missing;
  }

  async function waitFor(target: WaitTarget): Promise<WaitOutcome> {
    const p = plan(target);
    target.signal?.throwIfAborted();
    let version = target.version;
    if (version === undefined) {
      const entries = await ledger.timeline(p.type, p.id); // an unknown entity is an error here
      version = Math.max(0, ...acceptedVersions(entries));
      if (version === 0) {
        throw invalid(`${p.type}/${p.id} has no accepted version here; pass version to wait for one`, {
          entityType: p.type,
          entityId: p.id,
        });
      }
    }
    const pinned = version;
    return new Promise<WaitOutcome>((resolve, reject) => {
      let finished = false;
      let checking = false;
      let again = false;
      let leave: (() => void) | undefined;
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        target.signal?.removeEventListener('abort', onAbort);
        active.delete(fail);
        leave?.();
        fn();
      };
      const fail = (error: unknown) => finish(() => reject(error));
      const onAbort = () => fail(target.signal!.reason);
      const recheck = () => {
        if (finished) return;
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        void (async () => {
          try {
            do {
              again = false;
              const outcome = await check(p, pinned);
              if (outcome) return finish(() => resolve(outcome));
            } while (again && !finished);
          } catch (error) {
            fail(error);
          } finally {
            checking = false;
          }
        })();
      };
      active.add(fail);
      const timer = setTimeout(() => {
        void diagnose(p, pinned)
          .catch(() => [] as MissingContext[])
          .then((missing) =>
            fail(
              new TidemarkError(
                'TM_WAIT_TIMEOUT',
                `${p.type}/${p.id} v${pinned} did not reach ${p.label} within ${target.timeoutMs} ms: ` +
                  (missing.length > 0
                    ? missing.map((m) => m.explanation).join('; ')
                    : 'no diagnosis available'),
                {
                  context: {
                    entityType: p.type,
                    entityId: p.id,
                    version: pinned,
                    waitedFor: p.label,
                    timeoutMs: target.timeoutMs,
                    missing,
                  },
                },
              ),
            ),
          );
      }, target.timeoutMs);
      // The signal may have fired while the version was being read.
      if (target.signal?.aborted) return onAbort();
      target.signal?.addEventListener('abort', onAbort, { once: true });
      // Listen first, then look: a stage recorded in between wakes us instead of being missed.
      join(db, schema, entityKey(p.type, p.id), recheck).then((stop) => {
        if (finished) return stop();
        leave = stop;
        recheck();
      }, fail);
    });
  }

  return {
    waitFor,
    get waiting() {
      return active.size;
    },
    async close() {
      for (const fail of [...active]) {
        fail(new TidemarkError('TM_CLOSED', 'the ledger waiter was closed while waiting', {}));
      }
    },
  };
}

/**
 * Calls `onChange` whenever a stage of the entity may have been recorded (including its
 * `published` stage), on the same shared LISTEN as the waiters. Resolves, once listening, to
 * the function that stops watching.
 */
export function watchLedger(
  db: Db,
  schema: string,
  entity: { readonly type: string; readonly id: string },
  onChange: () => void,
): Promise<() => void> {
  quoteIdentifier(schema, 'schema name');
  return join(db, schema, entityKey(entity.type, entity.id), onChange);
}

import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { TidemarkError } from '../errors.js';
import type { Topology } from '../topology/model.js';
import type { Metrics } from '../obs/metrics.js';
import { nextOccurrence } from './calendar.js';
import { sayEventType, sayProgress, sayTime, sayDate } from './explain.js';
import { meets, progressOf } from './progress.js';
import { ledgerStatements } from './sql.js';
import { isLedgerStage, stageRank, type LedgerStage } from './stages.js';
import type { ContextProgress, EntityStatus, Readiness, TimelineEntry, VersionStatus } from './types.js';

export interface LedgerOptions {
  /** The authority's database: its outbox, relay marks and ledger table. */
  readonly db: Db;
  readonly schema?: string;
  /** Gives the ledger its business words: which contexts receive what, and the decisions. */
  readonly topology?: Topology;
  /** The clock (tests, and answering "as of"). */
  readonly now?: () => Date;
  /** Where `tidemark_readiness_lag_seconds` is observed, once per decision and version. */
  readonly metrics?: Pick<Metrics, 'readinessLag'>;
}

export interface Ledger {
  /** Every stage of every version of an entity, oldest first. */
  timeline(entityType: string, entityId: string): Promise<TimelineEntry[]>;
  /** Where each version stands in each context, each decision's readiness, and a summary. */
  status(entityType: string, entityId: string): Promise<EntityStatus>;
  /** Whether `decision` may use `version` (default: the latest) of the entity, and why not. */
  ready(decision: string, entityType: string, entityId: string, version?: number): Promise<Readiness>;
}

interface AcceptedRow {
  version: number;
  event_id: string;
  event_type: string;
  authority: string;
  event_time: string;
  effective_time: string | null;
  correlation_id: string | null;
  causation_id: string | null;
  validated: boolean;
  published_at: Date | string | null;
}

interface StageRow {
  version: number;
  context: string;
  stage: string;
  at: Date | string;
  authority: string;
  event_id: string | null;
  event_time: Date | string | null;
  effective_time: Date | string | null;
  correlation_id: string | null;
  causation_id: string | null;
  detail: Record<string, unknown> | null;
}

const iso = (v: Date | string): string => new Date(v).toISOString();
const optional = <K extends string>(key: K, v: Date | string | null | undefined) =>
  v == null ? {} : ({ [key]: iso(v) } as Record<K, string>);
const optionalText = <K extends string>(key: K, v: string | null | undefined) =>
  v == null ? {} : ({ [key]: v } as Record<K, string>);

export function createLedger(options: LedgerOptions): Ledger {
  const s = quoteIdentifier(options.schema ?? 'tidemark', 'schema name');
  const sql = ledgerStatements(s);
  const { db, topology } = options;
  const now = options.now ?? (() => new Date());

  async function read(entityType: string, entityId: string) {
    const accepted = (await db.query<AcceptedRow>(sql.accepted, [entityType, entityId])).rows;
    const recorded = (await db.query<StageRow>(sql.stages, [entityType, entityId])).rows;
    if (accepted.length === 0 && recorded.length === 0) {
      const known = (await db.query<{ entity_type: string }>(sql.knownTypes)).rows.map((r) => r.entity_type);
      throw new TidemarkError(
        'TM_ENTITY_NOT_FOUND',
        `no such entity: ${entityType}/${entityId} has no accepted change here; ` +
          (known.length > 0
            ? `entity types known here: ${known.join(', ')}`
            : 'no entity types are known here yet'),
        { context: { entityType, entityId, knownTypes: known } },
      );
    }
    return { accepted, recorded };
  }

  function authorityEntries(rows: readonly AcceptedRow[]): TimelineEntry[] {
    const entries: TimelineEntry[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      const version = Number(r.version);
      const common = {
        version,
        context: r.authority,
        eventId: r.event_id,
        eventType: r.event_type,
        eventTime: iso(r.event_time),
        ...optional('effectiveTime', r.effective_time),
        ...optionalText('correlationId', r.correlation_id),
        ...optionalText('causationId', r.causation_id),
      };
      // Several events (one per kind) may carry one version; the ledger shows the version once.
      if (seen.has(`${version}`)) continue;
      seen.add(`${version}`);
      // Every event of the version, in the order the authority appended them (domain event first).
      const eventTypes = rows.filter((o) => Number(o.version) === version).map((o) => o.event_type);
      entries.push({ ...common, stage: 'accepted', at: iso(r.event_time), detail: { eventTypes } });
      if (r.validated) entries.push({ ...common, stage: 'validated', at: iso(r.event_time), detail: {} });
      if (r.published_at)
        entries.push({ ...common, stage: 'published', at: iso(r.published_at), detail: {} });
    }
    return entries;
  }

  function recordedEntries(rows: readonly StageRow[]): TimelineEntry[] {
    return rows
      .filter((r) => isLedgerStage(r.stage))
      .map((r) => ({
        version: Number(r.version),
        context: r.context,
        stage: r.stage as LedgerStage,
        at: iso(r.at),
        ...optionalText('eventId', r.event_id),
        ...(typeof r.detail?.eventType === 'string' ? { eventType: r.detail.eventType } : {}),
        ...optional('eventTime', r.event_time),
        ...optional('effectiveTime', r.effective_time),
        ...optionalText('correlationId', r.correlation_id),
        ...optionalText('causationId', r.causation_id),
        detail: r.detail ?? {},
      }));
  }

  async function timeline(entityType: string, entityId: string): Promise<TimelineEntry[]> {
    const { accepted, recorded } = await read(entityType, entityId);
    return [...authorityEntries(accepted), ...recordedEntries(recorded)].sort(
      (a, b) => a.at.localeCompare(b.at) || a.version - b.version || stageRank(a.stage) - stageRank(b.stage),
    );
  }

  /** The contexts a version must reach: the topology's consumers, else those seen in the ledger. */
  function consumersOf(entityType: string, entries: readonly TimelineEntry[], authority: string): string[] {
    const declared = topology?.flows
      .filter((f) => f.entityType === entityType && f.strategy !== 'pull')
      .map((f) => f.consumer);
    if (declared && declared.length > 0) return [...new Set(declared)];
    return [...new Set(entries.map((e) => e.context).filter((c) => c !== authority))];
  }

  function readiness(
    decisionName: string,
    entityType: string,
    entityId: string,
    entries: readonly TimelineEntry[],
    version: number,
  ): Readiness {
    if (!topology) {
      throw new TidemarkError(
        'TM_UNKNOWN_DECISION',
        `decision '${decisionName}' cannot be judged: this ledger was opened without a topology; ` +
          'pass topology (loadTopology("tidemark.yaml")) to createLedger',
        { context: { decision: decisionName } },
      );
    }
    const decision = topology.decision(decisionName);
    if (decision.entityType !== entityType) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `decision '${decisionName}' is about ${decision.entityType}, not ${entityType}`,
        { context: { decision: decisionName, entityType } },
      );
    }
    const at = now();
    const acceptedEntry = entries.find((e) => e.version === version && e.stage === 'accepted');
    if (!acceptedEntry) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `${entityType}/${entityId} has no version ${version}; ` +
          `accepted versions: ${[...new Set(entries.filter((e) => e.stage === 'accepted').map((e) => e.version))].join(', ') || 'none'}`,
        { context: { entityType, entityId, version } },
      );
    }
    const authority = acceptedEntry.context;
    const missing: string[] = [];
    const heldBy: ContextProgress[] = [];
    const phrases: string[] = [];
    /** When each met requirement was reached: the latest is when the decision became ready. */
    const metAt: string[] = [];
    for (const requirement of decision.requires) {
      const label = `${requirement.stage}@${requirement.context}`;
      let met: boolean;
      let progress: ContextProgress | undefined;
      if (
        requirement.context === authority ||
        ['accepted', 'validated', 'published'].includes(requirement.stage)
      ) {
        const reached = entries.find(
          (e) => e.context === authority && e.version >= version && e.stage === requirement.stage,
        );
        met = reached !== undefined;
        if (reached) metAt.push(reached.at);
        phrases.push(
          met ? `${authority} ${requirement.stage} it` : `${authority} has not ${requirement.stage} it yet`,
        );
      } else {
        progress = progressOf(entries, requirement.context, version, at);
        met = meets(progress, requirement.stage);
        const since =
          requirement.stage === 'reconciled' || requirement.stage === 'settled'
            ? progress.detail.reconciledAt
            : progress.since;
        if (met && typeof since === 'string') metAt.push(since);
        if (!met && ['held', 'deferred', 'blocked', 'rejected'].includes(progress.stage))
          heldBy.push(progress);
        const said = sayProgress(progress, at);
        phrases.push(met || requirement.stage === 'applied' ? said : `${said}; needs ${requirement.stage}`);
      }
      if (!met) missing.push(label);
    }
    let waitsUntil: string | undefined;
    if (decision.cutOff) {
      const cutOff = nextOccurrence(topology, decision.cutOff, new Date(acceptedEntry.at));
      if (cutOff.getTime() > at.getTime()) {
        waitsUntil = cutOff.toISOString();
        phrases.push(`the ${decision.cutOff} on ${sayDate(waitsUntil)} has not passed`);
      }
    }
    const ready = missing.length === 0 && waitsUntil === undefined;
    if (ready) {
      const cutOffAt = decision.cutOff
        ? nextOccurrence(topology, decision.cutOff, new Date(acceptedEntry.at)).toISOString()
        : undefined;
      const readyAt = [...metAt, ...(cutOffAt ? [cutOffAt] : []), acceptedEntry.at].sort().at(-1)!;
      observeReadiness(decisionName, `${entityType}/${entityId}@${version}`, readyAt, acceptedEntry.at);
    }
    const subject = `${decisionName} ${ready ? 'can use' : 'cannot use yet'} ${sayEventType(acceptedEntry.eventType ?? 'change')} v${version} of ${entityType}/${entityId}`;
    return {
      decision: decisionName,
      entityType,
      entityId,
      version,
      ready,
      missing,
      heldBy,
      explanation: `${subject}: ${phrases.join('; ')}.`,
      ...(waitsUntil ? { waitsUntil } : {}),
    };
  }

  const observed = new Set<string>();
  /** Once per decision and version in this process; the set is bounded, forgetting in bulk. */
  function observeReadiness(decision: string, version: string, readyAt: string, acceptedAt: string): void {
    if (!options.metrics) return;
    const key = `${decision}\u0000${version}`;
    if (observed.has(key)) return;
    if (observed.size >= 10_000) observed.clear();
    observed.add(key);
    const seconds = Math.max(0, (Date.parse(readyAt) - Date.parse(acceptedAt)) / 1000);
    options.metrics.readinessLag.observe({ decision }, seconds);
  }

  async function status(entityType: string, entityId: string): Promise<EntityStatus> {
    const entries = await timeline(entityType, entityId);
    const at = now();
    const accepted = entries.filter((e) => e.stage === 'accepted');
    const authority = accepted[0]?.context ?? topology?.authorityOf(entityType) ?? entries[0]!.context;
    const consumers = consumersOf(entityType, entries, authority);
    const versions: VersionStatus[] = accepted.map((a) => {
      const contexts = consumers.map((c) => progressOf(entries, c, a.version, at));
      const published = entries.find((e) => e.stage === 'published' && e.version === a.version);
      return {
        version: a.version,
        eventTypes: Array.isArray(a.detail.eventTypes) ? (a.detail.eventTypes as string[]) : [],
        acceptedAt: a.at,
        ...(published ? { publishedAt: published.at } : {}),
        contexts,
        settled: contexts.length > 0 && contexts.every((p) => p.stage === 'reconciled'),
      };
    });
    const latestVersion = Math.max(0, ...versions.map((v) => v.version));
    const decisions = topology
      ? topology.decisions
          .filter((d) => d.entityType === entityType && latestVersion > 0)
          .map((d) => readiness(d.name, entityType, entityId, entries, latestVersion))
      : [];
    const latest = versions.find((v) => v.version === latestVersion);
    const summary = latest
      ? `${capitalise(sayEventType(latest.eventTypes[0] ?? 'change'))} v${latest.version} ` +
        `(accepted ${sayTime(latest.acceptedAt, at)}): ` +
        (latest.contexts.length > 0
          ? latest.contexts.map((p) => sayProgress(p, at)).join('; ')
          : 'no consumers known') +
        (latest.settled ? '. Settled everywhere.' : '.')
      : `${entityType}/${entityId}: no accepted version here.`;
    return { entityType, entityId, authority, latestVersion, versions, decisions, summary };
  }

  return {
    timeline,
    status,
    async ready(decision, entityType, entityId, version) {
      const entries = await timeline(entityType, entityId);
      const latest = Math.max(0, ...entries.filter((e) => e.stage === 'accepted').map((e) => e.version));
      return readiness(decision, entityType, entityId, entries, version ?? latest);
    },
  };
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

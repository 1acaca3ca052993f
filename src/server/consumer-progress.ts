import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ConsumerProgress } from '../consumer/types.js';
import { consumerStall } from '../obs/stall.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { postgresLogLag, type GroupLagReader } from './progress.js';
import { consumerDirectory, type ConsumerHandle } from './stores.js';

/** What the control plane needs of a running consumer; a `Consumer` has it. */
export interface RunningConsumer {
  readonly name: string;
  progress?(): ConsumerProgress;
}

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const Reason = Type.Object({
  kind: Type.Union(
    ['handler-failing', 'dead-letter', 'held', 'not-running'].map((k) => Type.Literal(k)),
    {
      description:
        'handler-failing: retries of an event keep failing; dead-letter: a key waits behind a dead letter; held: events wait for an earlier version; not-running: work waits and no instance of the group is alive',
    },
  ),
  detail: Type.String(),
});
export type Reason = Static<typeof Reason>;

export const ConsumerDiagnosis = Type.Object({
  consumer: Type.String(),
  source: Type.Union([Type.Literal('running'), Type.Literal('database'), Type.Literal('none')], {
    description:
      'where the stall verdict comes from: a running consumer passed to the server, the database (postgres-log backbone), or nothing (unknown)',
  }),
  lag: nullable(Type.Integer({ description: "events on the backbone after the group's committed offsets" })),
  partitions: Type.Array(
    Type.Object({
      partition: Type.Integer(),
      committed: Type.Integer(),
      head: Type.Integer(),
      pending: Type.Integer(),
    }),
  ),
  workSince: nullable(
    Type.String({ description: 'append time of the oldest event the group has not committed' }),
  ),
  lastProgressAt: nullable(Type.String({ description: 'when the consumer last finished an event' })),
  batchesInHand: nullable(Type.Integer()),
  liveInstances: nullable(
    Type.Integer({ description: 'group members with a recent heartbeat (postgres-log)' }),
  ),
  stalled: nullable(
    Type.Boolean({ description: 'work waiting and no event finished for stallAfterMs; null: unknown' }),
  ),
  stalledSince: nullable(Type.String()),
  stuckForSeconds: Type.Number(),
  explanation: nullable(Type.String()),
  reasons: Type.Array(Reason),
  deadLetters: nullable(
    Type.Object({ open: Type.Integer(), parked: Type.Integer(), parkedKeys: Type.Integer() }),
  ),
  held: nullable(Type.Integer({ description: 'events held waiting for an earlier version of their entity' })),
});
export type ConsumerDiagnosis = Static<typeof ConsumerDiagnosis>;

export interface DiagnoseOptions {
  readonly name: string;
  readonly running: RunningConsumer | undefined;
  /** The consumer's own database and schema (dead letters, inbox, held events), when served. */
  readonly store: ConsumerHandle | undefined;
  readonly groupLag: GroupLagReader | undefined;
  /** The postgres-log backbone's database and quoted schema, when that is the backbone. */
  readonly log: { readonly db: Db; readonly quotedSchema: string } | undefined;
  readonly stallAfterMs: number;
  /** A member whose heartbeat is older than this is not counted as alive (postgres-log's lease). */
  readonly memberTimeoutMs: number;
}

const iso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : new Date(value).toISOString();

/**
 * One consumer's progress and, when it can be told, why it is stuck. The verdict follows the
 * stall detector (`consumerStall`) for a running consumer; from the database alone it is the
 * same question asked of stored facts: work waiting on the log since T and no inbox entry after
 * max(T, last applied) for `stallAfterMs`.
 */
export async function diagnoseConsumer(
  options: DiagnoseOptions,
  now = new Date(),
): Promise<ConsumerDiagnosis> {
  const { name, running, store, log, stallAfterMs } = options;
  const partitions = options.groupLag ? await options.groupLag(name) : undefined;
  const lag = partitions && partitions.length > 0 ? partitions.reduce((sum, p) => sum + p.pending, 0) : null;
  const reasons: Reason[] = [];

  let workSince: string | null = null;
  let liveInstances: number | null = null;
  if (log && lag !== null) {
    const row = (
      await log.db.query<{ since: Date | null; live: string | number }>(
        `SELECT (SELECT min(first.appended_at) FROM ${log.quotedSchema}.log_checkpoints c
                   CROSS JOIN LATERAL (SELECT l.appended_at FROM ${log.quotedSchema}.log l
                     WHERE l.partition = c.partition AND l.log_offset > c.log_offset
                     ORDER BY l.log_offset LIMIT 1) first
                 WHERE c.consumer_group = $1) AS since,
                (SELECT count(*) FROM ${log.quotedSchema}.log_members
                 WHERE consumer_group = $1 AND heartbeat_at > now() - make_interval(secs => $2::float8 / 1000)) AS live`,
        [name, options.memberTimeoutMs],
      )
    ).rows[0];
    workSince = iso(row?.since);
    liveInstances = Number(row?.live ?? 0);
    if (lag > 0 && liveInstances === 0) {
      reasons.push({
        kind: 'not-running',
        detail: `${lag} event${lag === 1 ? '' : 's'} waiting and no instance of '${name}' has a heartbeat`,
      });
    }
  }

  let deadLetters: ConsumerDiagnosis['deadLetters'] = null;
  let held: number | null = null;
  let storedProgressAt: string | null = null;
  if (store) {
    const counts = (await store.deadLetters.counts()).find((c) => c.consumer === name);
    deadLetters = {
      open: counts?.open ?? 0,
      parked: counts?.parked ?? 0,
      parkedKeys: counts?.parkedKeys ?? 0,
    };
    if (deadLetters.open > 0) {
      const heads = await store.db.query<{
        id: string;
        entity: string | null;
        code: string;
        reason: string;
        behind: string | number;
      }>(
        `SELECT d.id, d.entity_type || '/' || d.entity_id || '@' || d.entity_version AS entity, d.code, d.reason,
           (SELECT count(*) FROM ${store.quotedSchema}.dead_letters p
            WHERE p.consumer = d.consumer AND p.partition_key = d.partition_key AND p.status = 'parked') AS behind
         FROM ${store.quotedSchema}.dead_letters d
         WHERE d.consumer = $1 AND d.status IN ('open', 'retry') ORDER BY d.id LIMIT 3`,
        [name],
      );
      for (const head of heads.rows) {
        const behind = Number(head.behind);
        reasons.push({
          kind: 'dead-letter',
          detail:
            `dead letter #${head.id} ${head.entity ?? '(unreadable event)'}: ${head.code}: ${head.reason.slice(0, 300)}` +
            (behind > 0
              ? `; ${behind} later event${behind === 1 ? '' : 's'} of the key parked behind it`
              : ''),
        });
      }
    }
    const pending = (
      await store.db.query<{ held: string | number; since: Date | null }>(
        `SELECT count(*) AS held, min(received_at) AS since FROM ${store.quotedSchema}.consumer_pending WHERE consumer = $1`,
        [name],
      )
    ).rows[0];
    held = Number(pending?.held ?? 0);
    if (held > 0) {
      reasons.push({
        kind: 'held',
        detail: `${held} event${held === 1 ? '' : 's'} held for an earlier version since ${iso(pending?.since)}`,
      });
    }
    // Only asked when work has waited long enough to matter: the inbox has no index on time.
    if (!running?.progress && workSince && now.getTime() - Date.parse(workSince) >= stallAfterMs) {
      const last = await store.db.query<{ at: Date | null }>(
        `SELECT max(received_at) AS at FROM ${store.quotedSchema}.inbox WHERE consumer = $1 AND received_at >= $2`,
        [name, workSince],
      );
      storedProgressAt = iso(last.rows[0]?.at);
    }
  }

  const base = {
    consumer: name,
    lag,
    partitions: (partitions ?? []).map(({ partition, committed, head, pending }) => ({
      partition,
      committed,
      head,
      pending,
    })),
    workSince,
    liveInstances,
    deadLetters,
    held,
  };

  if (running?.progress) {
    const progress = running.progress();
    const stall = consumerStall(name, progress, stallAfterMs, now);
    if (progress.failing) {
      reasons.unshift({
        kind: 'handler-failing',
        detail: `${progress.failing.entity} failed ${progress.failing.tries} time${progress.failing.tries === 1 ? '' : 's'}, last at ${progress.failing.at}: ${progress.failing.error}`,
      });
    }
    return {
      ...base,
      source: 'running',
      lastProgressAt: progress.lastProgressAt ?? null,
      batchesInHand: progress.batchesInHand,
      stalled: stall.stalled,
      stalledSince: stall.stalled ? new Date(now.getTime() - stall.stuckForMs).toISOString() : null,
      stuckForSeconds: Math.round(stall.stuckForMs / 100) / 10,
      explanation: stall.explanation ?? null,
      reasons,
    };
  }

  // Without the inbox a long backlog being worked through looks like no progress: say nothing.
  if (lag === null || !log || !store) {
    return {
      ...base,
      source: 'none',
      lastProgressAt: null,
      batchesInHand: null,
      stalled: null,
      stalledSince: null,
      stuckForSeconds: 0,
      explanation: null,
      reasons,
    };
  }
  const since =
    lag > 0 && workSince
      ? Math.max(Date.parse(workSince), storedProgressAt ? Date.parse(storedProgressAt) : 0)
      : undefined;
  const stuckForMs = since === undefined ? 0 : Math.max(0, now.getTime() - since);
  const stalled = since !== undefined && stuckForMs >= stallAfterMs;
  return {
    ...base,
    source: 'database',
    lastProgressAt: storedProgressAt,
    batchesInHand: null,
    stalled,
    stalledSince: stalled ? new Date(since).toISOString() : null,
    stuckForSeconds: Math.round(stuckForMs / 100) / 10,
    explanation: stalled
      ? `consumer '${name}' has had ${lag} event${lag === 1 ? '' : 's'} waiting since ${workSince} and applied ` +
        `none for ${Math.round(stuckForMs / 1000)} s` +
        (reasons.length > 0
          ? `: ${reasons[0]!.detail}`
          : ' (a handler waiting on a lock or a slow call, or failing its retries)')
      : null,
    reasons,
  };
}

/**
 * Stalled consumers as the database shows them, for a tool without running consumers
 * (`tidemark status`): the given consumers (default: every group with offsets on the
 * postgres-log in `schema`) that keep their inbox in the same schema. A consumer with no inbox
 * row here keeps its store elsewhere, where its progress cannot be seen: it is left out rather
 * than reported stalled.
 */
export async function storedConsumerStalls(options: {
  readonly db: Db;
  readonly schema: string;
  readonly consumers?: readonly string[];
  readonly stallAfterMs: number;
}): Promise<ConsumerDiagnosis[]> {
  const { db, schema } = options;
  const quotedSchema = quoteIdentifier(schema, 'schema name');
  const names =
    options.consumers ??
    (
      await db.query<{ name: string }>(
        `SELECT DISTINCT consumer_group AS name FROM ${quotedSchema}.log_checkpoints ORDER BY 1`,
      )
    ).rows.map((r) => r.name);
  const groupLag = postgresLogLag(db, schema);
  const stalled: ConsumerDiagnosis[] = [];
  for (const name of names) {
    const here = await db.query(`SELECT 1 FROM ${quotedSchema}.inbox WHERE consumer = $1 LIMIT 1`, [name]);
    if (here.rows.length === 0) continue;
    const diagnosis = await diagnoseConsumer({
      name,
      running: undefined,
      store: consumerDirectory([{ name }], { db, schema }).get(name),
      groupLag,
      log: { db, quotedSchema },
      stallAfterMs: options.stallAfterMs,
      memberTimeoutMs: 10_000,
    });
    if (diagnosis.stalled) stalled.push(diagnosis);
  }
  return stalled;
}

import type { Consumer } from '../consumer/types.js';
import { TidemarkError, isTidemarkError } from '../errors.js';
import { recordStages } from '../ledger/record.js';
import type { StageRecord } from '../ledger/stages.js';
import type { Metrics } from '../obs/metrics.js';
import type { Producer } from '../producer/producer.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import type { RepairPolicy, Topology } from '../topology/model.js';
import { sleep } from '../util/wakeup.js';
import {
  compareRows,
  classify,
  differingBuckets,
  readBuckets,
  readRow,
  readRows,
  readSubBuckets,
  type DigestSource,
  type DriftClass,
  type Finding,
} from './compare.js';
import {
  checkTools,
  repairPlan,
  sendState,
  tombstone,
  type RepairAttempt,
  type RepairTools,
  type StateSource,
} from './repair.js';
import { emptyCounts, type RunReport } from './report.js';
import { scopeKey } from './scope.js';
import { describeScope, type ScopeRow } from './scopes.js';
import { digestStatements, missingTables } from './store.js';
import { runStatements } from './runs.js';

export interface ReconcilerOptions {
  readonly flow: string;
  /** Checks the flow exists and gives its repair policy (`reconciliation` schedule). */
  readonly topology?: Topology;
  readonly authority: { readonly db: Db; readonly schema?: string };
  /** The consumer's database and Tidemark schema: its digests, bookkeeping, ledger, runs and exceptions. */
  readonly replica: { readonly db: Db; readonly schema?: string };
  /** Repair policy, or one per class (default: the flow's schedule, else `exception`). */
  readonly repair?: RepairPolicy | Partial<Record<DriftClass, RepairPolicy>>;
  readonly source?: StateSource;
  readonly consumer?: Consumer;
  readonly producer?: Producer;
  readonly metrics?: Metrics;
  /** Wait between the comparison and the recheck, so changes on their way land (default 2,000 ms). */
  readonly settleMs?: number;
  /** Findings kept as examples in the report (default 10). */
  readonly examples?: number;
  /** A running run without a heartbeat for this long is taken over (default 60,000 ms). */
  readonly staleAfterMs?: number;
}

export interface RunOptions {
  /** Compare and report; repair nothing, write nothing to the ledger. */
  readonly dryRun?: boolean;
  readonly onProgress?: (progress: { phase: 'compare' | 'repair'; done: number; total: number }) => void;
  /** Called between the comparison and the recheck (tests use it to let changes land). */
  readonly afterCompare?: (findings: readonly Finding[]) => Promise<void> | void;
}

export interface Reconciler {
  readonly flow: string;
  run(options?: RunOptions): Promise<RunReport>;
}

function unknownFlow(flow: string, known: readonly string[]): TidemarkError {
  return new TidemarkError(
    'TM_RECON_UNKNOWN_FLOW',
    `there is no flow '${flow}' to reconcile; known flows: ${known.length ? known.join(', ') : 'none'}`,
    { context: { flow, known } },
  );
}

export function createReconciler(options: ReconcilerOptions): Reconciler {
  const { flow, topology } = options;
  const as = quoteIdentifier(options.authority.schema ?? 'tidemark', 'authority schema name');
  const rs = quoteIdentifier(options.replica.schema ?? 'tidemark', 'replica schema name');
  if (topology) {
    const known = topology.flows.map((f) => f.name);
    if (!known.includes(flow)) throw unknownFlow(flow, known);
  }
  const policy = options.repair ?? topology?.reconciliationOf(flow)?.repair ?? 'exception';
  const plan =
    typeof policy === 'string'
      ? repairPlan(policy)
      : repairPlan(topology?.reconciliationOf(flow)?.repair ?? 'exception', policy);
  const strategy = topology?.flows.find((f) => f.name === flow)?.strategy;
  const stateRepair = Object.entries(plan).find(([, how]) => how === 'republish' || how === 'rehydrate');
  if (strategy === 'push-domain' && stateRepair) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `flow '${flow}' is push-domain: its consumer applies domain events in order and ignores state, so ` +
        `'${stateRepair[1]}' cannot repair ${stateRepair[0]} rows; use repair: exception for this flow`,
      { context: { flow, strategy } },
    );
  }
  const settleMs = options.settleMs ?? 2_000;
  const staleAfterMs = options.staleAfterMs ?? 60_000;
  const runs = runStatements(rs);
  const rd = digestStatements(rs);

  async function scopes(): Promise<{ authority: ScopeRow; replica: ScopeRow }> {
    const [authority, replica] = await Promise.all([
      describeScope(options.authority.db, as, scopeKey('authority', flow)),
      describeScope(options.replica.db, rs, scopeKey('replica', flow)),
    ]);
    if (!authority && !replica) {
      if (topology) {
        throw new TidemarkError(
          'TM_RECON_SCHEMA_MISMATCH',
          `flow '${flow}' has no digests on either side; wire authorityDigests next to producer.append and ` +
            'reconciledHandler around the consumer handler, then start both once',
          { context: { flow } },
        );
      }
      const known = [
        ...new Set(
          [
            ...(await options.authority.db.query<{ flow: string }>(digestStatements(as).flows)).rows,
            ...(await options.replica.db.query<{ flow: string }>(rd.flows)).rows,
          ].map((r) => r.flow),
        ),
      ].sort();
      throw unknownFlow(flow, known);
    }
    const missingSide = !authority ? 'authority' : !replica ? 'replica' : undefined;
    if (
      missingSide ||
      authority!.entityType !== replica!.entityType ||
      authority!.fields.join() !== replica!.fields.join()
    ) {
      throw new TidemarkError(
        'TM_RECON_SCHEMA_MISMATCH',
        missingSide
          ? `flow '${flow}' has digests on one side only: the ${missingSide} registered none (wire its digests and start it once)`
          : `the replica of flow '${flow}' does not describe what the authority does: authority ` +
              `${authority!.entityType} [${authority!.fields.join(', ')}], replica ${replica!.entityType} ` +
              `[${replica!.fields.join(', ')}]; give both the same entity type and fields, then rebuild the digests`,
        { context: { flow, authority, replica } },
      );
    }
    return { authority: authority!, replica: replica! };
  }

  return {
    flow,
    async run(runOptions = {}) {
      const dryRun = runOptions.dryRun ?? false;
      const started = new Date();
      const { authority, replica } = await scopes();
      const tools: RepairTools = {
        flow,
        entityType: authority.entityType,
        authorityContext: authority.context,
        consumerName: replica.context,
        replicaDb: options.replica.db,
        replicaS: rs,
        authorityDb: options.authority.db,
        source: options.source,
        consumer: options.consumer,
        producer: options.producer,
      };
      if (!dryRun) checkTools(plan, tools);
      const authoritySide: DigestSource = {
        sql: options.authority.db,
        s: as,
        scope: scopeKey('authority', flow),
      };
      const replicaSide: DigestSource = { sql: options.replica.db, s: rs, scope: scopeKey('replica', flow) };
      const rowsRead = { buckets: 0, subBuckets: 0, rows: 0, rechecks: 0, confirmations: 0 };
      const outcomes: Record<string, number> = {};
      const count = (key: string) => (outcomes[key] = (outcomes[key] ?? 0) + 1);
      let reconciled = 0;

      // One run per flow: a live one refuses us, an interrupted one is taken over.
      await options.replica.db.query(runs.expire, [flow, staleAfterMs]).catch((error: unknown) => {
        throw missingTables(rs, error);
      });
      const runId = await options.replica.db
        .query<{ id: string }>(runs.start, [flow, dryRun])
        .then((r) => Number(r.rows[0]!.id))
        .catch((error: unknown) => {
          if (/recon_runs_active/.test(String((error as Error).message)))
            throw new TidemarkError(
              'TM_RECON_RUN_ACTIVE',
              `a reconciliation run of flow '${flow}' is in progress; wait for it to finish, then run again`,
              { context: { flow } },
            );
          throw error;
        });
      let resumable: { runId: number; findings: Finding[] } | undefined;
      const interrupted = dryRun
        ? undefined
        : (await options.replica.db.query<{ id: string }>(runs.claimInterrupted, [flow, runId])).rows[0];
      const heartbeat = () => options.replica.db.query(runs.heartbeat, [runId]);
      if (interrupted) {
        const oldId = Number(interrupted.id);
        const pending = await options.replica.db.query<{
          entity_id: string;
          class: DriftClass;
          authority_version: string | null;
          replica_version: string | null;
        }>(runs.pending, [oldId]);
        resumable = {
          runId: oldId,
          findings: pending.rows.map((r) => ({
            entityId: r.entity_id,
            class: r.class,
            authorityVersion: r.authority_version === null ? null : Number(r.authority_version),
            replicaVersion: r.replica_version === null ? null : Number(r.replica_version),
          })),
        };
      }

      try {
        const ledgerMark = (entityId: string, version: number): StageRecord => ({
          entityType: authority.entityType,
          entityId,
          version,
          context: replica.context,
          stage: 'reconciled',
          authority: authority.context,
          detail: { run: runId },
        });

        /** Recheck, then repair one finding of run `owner`; the outcome is stored on the finding. */
        async function settle(owner: number, finding: Finding): Promise<void> {
          const [a, r] = await Promise.all([
            readRow(authoritySide, finding.entityId),
            readRow(replicaSide, finding.entityId),
          ]);
          rowsRead.rechecks += 2;
          const now = classify(finding.entityId, a, r);
          let attempt: RepairAttempt;
          if (!now) {
            attempt = { outcome: 'in-flight' };
            await options.replica.db.transaction(async (tx) => {
              await recordStages(tx, replica.s, [ledgerMark(finding.entityId, a!.version)]);
              await tx.query(rd.confirm, [replicaSide.scope, finding.entityId, a!.version]);
            });
            reconciled++;
          } else if (
            (a?.version ?? null) !== finding.authorityVersion ||
            (r?.version ?? null) !== finding.replicaVersion
          ) {
            attempt = { outcome: 'moving' };
          } else {
            const how = plan[now.class];
            try {
              if (how === 'exception') attempt = { outcome: 'exception' };
              else if (how === 'tombstone')
                attempt = await tombstone(tools, runId, finding.entityId, r!.version);
              else attempt = await sendState(tools, how, runId, finding.entityId, a!.version);
            } catch (error) {
              if (isTidemarkError(error, 'TM_INVALID_ARGUMENT')) throw error;
              attempt = { outcome: 'failed', note: error instanceof Error ? error.message : String(error) };
            }
            if (attempt.outcome === 'repaired') reconciled++;
            if (attempt.outcome === 'exception' || attempt.outcome === 'failed') {
              await options.replica.db.query(runs.openException, [
                flow,
                authority.entityType,
                finding.entityId,
                now.class,
                a?.version ?? null,
                r?.version ?? null,
                attempt.note ?? '',
                runId,
              ]);
            }
          }
          count(attempt.outcome);
          await options.replica.db.query(runs.settleFinding, [
            owner,
            finding.entityId,
            attempt.outcome,
            JSON.stringify(attempt.note ? { note: attempt.note } : {}),
          ]);
        }

        if (resumable && !dryRun) {
          for (const finding of resumable.findings) await settle(resumable.runId, finding);
          await heartbeat();
        }

        // Compare: bucket digests, then sub-bucket digests of differing buckets, then the rows of
        // differing sub-buckets only.
        runOptions.onProgress?.({ phase: 'compare', done: 0, total: 3 });
        const replicaSnapshot = await options.replica.db.transaction(async (tx) => {
          await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
          const buckets = await readBuckets({ ...replicaSide, sql: tx });
          const unconfirmed = dryRun
            ? []
            : (
                await tx.query<{ entity_id: string; version: string; sub: number }>(rd.unconfirmed, [
                  replicaSide.scope,
                ])
              ).rows;
          return { buckets, unconfirmed };
        });
        const authorityBuckets = await readBuckets(authoritySide);
        rowsRead.buckets = authorityBuckets.size + replicaSnapshot.buckets.size;
        rowsRead.confirmations = replicaSnapshot.unconfirmed.length;
        const differing = differingBuckets(authorityBuckets, replicaSnapshot.buckets);
        runOptions.onProgress?.({ phase: 'compare', done: 1, total: 3 });
        const [authoritySubs, replicaSubs] = await Promise.all([
          readSubBuckets(authoritySide, differing),
          readSubBuckets(replicaSide, differing),
        ]);
        rowsRead.subBuckets = authoritySubs.size + replicaSubs.size;
        const differingSubs = differingBuckets(authoritySubs, replicaSubs);
        runOptions.onProgress?.({ phase: 'compare', done: 2, total: 3 });
        const [authorityRows, replicaRows] = await Promise.all([
          readRows(authoritySide, differingSubs),
          readRows(replicaSide, differingSubs),
        ]);
        rowsRead.rows = authorityRows.size + replicaRows.size;
        const findings = compareRows(authorityRows, replicaRows);
        runOptions.onProgress?.({ phase: 'compare', done: 3, total: 3 });
        const found = emptyCounts();
        for (const f of findings) found[f.class]++;
        for (let i = 0; i < findings.length; i += 500) {
          const chunk = findings.slice(i, i + 500);
          await options.replica.db.query(runs.addFindings, [
            runId,
            chunk.map((f) => f.entityId),
            chunk.map((f) => f.class),
            chunk.map((f) => f.authorityVersion),
            chunk.map((f) => f.replicaVersion),
            dryRun ? 'dry-run' : null,
          ]);
        }
        if (dryRun) {
          if (findings.length) outcomes['dry-run'] = findings.length;
        } else {
          // Mark what matched: changed rows of equal buckets, and equal rows read in differing
          // ones (rows of a differing bucket not read wait for the next run).
          const differingSet = new Set(differing);
          const drifted = new Set(findings.map((f) => f.entityId));
          const confirmed = replicaSnapshot.unconfirmed.filter(
            (u) =>
              !drifted.has(u.entity_id) &&
              (!differingSet.has(Number(u.sub) >> 4) ||
                replicaRows.get(u.entity_id)?.version === Number(u.version)),
          );
          for (let i = 0; i < confirmed.length; i += 500) {
            const chunk = confirmed.slice(i, i + 500);
            await options.replica.db.transaction(async (tx) => {
              await recordStages(
                tx,
                replica.s,
                chunk.map((u) => ledgerMark(u.entity_id, Number(u.version))),
              );
              for (const u of chunk)
                await tx.query(rd.confirm, [replicaSide.scope, u.entity_id, Number(u.version)]);
            });
            reconciled += chunk.length;
          }
          await runOptions.afterCompare?.(findings);
          if (findings.length > 0 && settleMs > 0) await sleep(settleMs);
          let done = 0;
          for (const finding of findings) {
            await settle(runId, finding);
            runOptions.onProgress?.({ phase: 'repair', done: ++done, total: findings.length });
            if (done % 100 === 0) await heartbeat();
          }
        }

        const finished = new Date();
        const report: RunReport = {
          runId,
          flow,
          dryRun,
          startedAt: started.toISOString(),
          finishedAt: finished.toISOString(),
          durationMs: finished.getTime() - started.getTime(),
          found,
          examples: findings.slice(0, options.examples ?? 10),
          outcomes,
          rowsRead,
          bucketsDiffering: differing.length,
          reconciled,
          ...(resumable ? { resumed: { runId: resumable.runId, findings: resumable.findings.length } } : {}),
        };
        await options.replica.db.query(runs.finish, [runId, 'finished', JSON.stringify(report)]);
        if (options.metrics) {
          for (const [cls, n] of Object.entries(found))
            options.metrics.reconMismatches.set({ flow, class: cls }, n);
          options.metrics.reconRunDuration.observe({ flow }, report.durationMs / 1000);
        }
        return report;
      } catch (error) {
        // Pending findings stay pending: the next run rechecks and finishes them.
        await options.replica.db
          .query(runs.finish, [runId, 'failed', JSON.stringify({ error: (error as Error).message })])
          .catch(() => undefined);
        throw error;
      }
    },
  };
}

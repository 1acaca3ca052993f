import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../../dlq/audit.js';
import { TidemarkError } from '../../errors.js';
import { reconcileExceptions, type ReconcileException } from '../../reconcile/index.js';
import { principalOf, type ServerContext } from '../context.js';
import {
  ActionBody,
  AssignBody,
  ConsumerParams,
  OperationParams,
  ReconExceptionsQuery,
  ReconRunsQuery,
  type ActionBody as ActionBodyT,
  type AssignBody as AssignBodyT,
  type ConsumerParams as ConsumerParamsT,
  type OperationParams as IdParamsT,
  type ReconExceptionsQuery as ReconExceptionsQueryT,
  type ReconRunsQuery as ReconRunsQueryT,
} from '../schemas.js';

interface RunRow {
  id: string;
  flow: string;
  status: string;
  dry_run: boolean;
  started_at: Date;
  finished_at: Date | null;
  report: Record<string, unknown> | null;
}

const toRun = (r: RunRow) => ({
  id: Number(r.id),
  flow: r.flow,
  status: r.status,
  dryRun: r.dry_run,
  startedAt: new Date(r.started_at).toISOString(),
  finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  report: r.report,
});

const notFound = (what: string, consumer: string, id: number) =>
  new TidemarkError(
    'TM_RECON_RECORD_NOT_FOUND',
    `consumer '${consumer}' has no reconciliation ${what} #${id}; list them with GET /api/consumers/${consumer}/reconciliation/${what === 'run' ? 'runs' : 'exceptions'}`,
    { context: { consumer, id } },
  );

/** Reconciliation runs, their reports and the exceptions they opened, in each consumer's store. */
export function reconciliationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const base = '/api/consumers/:consumer/reconciliation';

  app.get(
    `${base}/runs`,
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Reconciliation runs of the consumer, newest first, each with its report',
        params: ConsumerParams,
        querystring: ReconRunsQuery,
      },
    },
    async (request) => {
      const { consumer } = request.params as ConsumerParamsT;
      const { flow, limit } = request.query as ReconRunsQueryT;
      const handle = ctx.consumers.get(consumer);
      const rows = await handle.db.query<RunRow>(
        `SELECT id, flow, status, dry_run, started_at, finished_at, report FROM ${handle.quotedSchema}.recon_runs
         WHERE $1::text IS NULL OR flow = $1 ORDER BY id DESC LIMIT $2`,
        [flow ?? null, limit ?? 50],
      );
      return { runs: rows.rows.map(toRun) };
    },
  );

  app.get(
    `${base}/runs/:id`,
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['reconciliation'],
        summary: 'One run: its report and its findings (up to 1000)',
        params: OperationParams,
      },
    },
    async (request) => {
      const { consumer, id } = request.params as IdParamsT;
      const handle = ctx.consumers.get(consumer);
      const run = (
        await handle.db.query<RunRow>(
          `SELECT id, flow, status, dry_run, started_at, finished_at, report FROM ${handle.quotedSchema}.recon_runs WHERE id = $1`,
          [id],
        )
      ).rows[0];
      if (!run) throw notFound('run', consumer, id);
      const findings = await handle.db.query<{
        entity_id: string;
        class: string;
        authority_version: string | null;
        replica_version: string | null;
        outcome: string | null;
      }>(
        `SELECT entity_id, class, authority_version::text, replica_version::text, outcome
         FROM ${handle.quotedSchema}.recon_findings WHERE run_id = $1 ORDER BY entity_id LIMIT 1000`,
        [id],
      );
      return {
        ...toRun(run),
        findings: findings.rows.map((f) => ({
          entityId: f.entity_id,
          class: f.class,
          authorityVersion: f.authority_version === null ? null : Number(f.authority_version),
          replicaVersion: f.replica_version === null ? null : Number(f.replica_version),
          outcome: f.outcome,
        })),
      };
    },
  );

  app.get(
    `${base}/exceptions`,
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Differences reconciliation left for a person to decide',
        params: ConsumerParams,
        querystring: ReconExceptionsQuery,
      },
    },
    async (request) => {
      const { consumer } = request.params as ConsumerParamsT;
      const { flow, status } = request.query as ReconExceptionsQueryT;
      const handle = ctx.consumers.get(consumer);
      const exceptions = await reconcileExceptions(handle.db, handle.schema).list({
        ...(flow ? { flow } : {}),
        ...(status ? { status: status as ReconcileException['status'] } : {}),
      });
      return { exceptions };
    },
  );

  /** Runs an exception action and its audit row in one transaction. */
  async function act(
    consumer: string,
    id: number,
    verb: 'assign' | 'resolve',
    actor: string,
    reason: string,
    change: (exceptions: ReturnType<typeof reconcileExceptions>) => Promise<ReconcileException>,
  ): Promise<ReconcileException> {
    const handle = ctx.consumers.get(consumer);
    return handle.db.transaction(async (tx) => {
      const exists = await tx.query(`SELECT 1 FROM ${handle.quotedSchema}.recon_exceptions WHERE id = $1`, [
        id,
      ]);
      if (exists.rows.length === 0) throw notFound('exception', consumer, id);
      const updated = await change(reconcileExceptions(tx, handle.schema));
      await recordAudit(tx, handle.quotedSchema, {
        actor,
        action: `reconcile.exception.${verb}`,
        target: `recon-exception:${id}`,
        reason,
        details: { consumer, flow: updated.flow, entity: `${updated.entityType}/${updated.entityId}` },
      });
      return updated;
    });
  }

  app.post(
    `${base}/exceptions/:id/assign`,
    {
      config: { access: 'operator' },
      schema: {
        tags: ['reconciliation'],
        summary: "Take an exception on: it becomes 'investigating', assigned to the token's holder (audited)",
        params: OperationParams,
        body: AssignBody,
      },
    },
    async (request) => {
      const { consumer, id } = request.params as IdParamsT;
      const { reason, note } = request.body as AssignBodyT;
      const actor = principalOf(request).name;
      return act(consumer, id, 'assign', actor, reason, (e) => e.assign(id, actor, note ?? ''));
    },
  );

  app.post(
    `${base}/exceptions/:id/resolve`,
    {
      config: { access: 'operator' },
      schema: {
        tags: ['reconciliation'],
        summary: 'Close an exception; the reason is its resolution (audited)',
        params: OperationParams,
        body: ActionBody,
      },
    },
    async (request) => {
      const { consumer, id } = request.params as IdParamsT;
      const { reason } = request.body as ActionBodyT;
      return act(consumer, id, 'resolve', principalOf(request).name, reason, (e) => e.resolve(id, reason));
    },
  );
}

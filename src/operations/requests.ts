import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { TidemarkError } from '../errors.js';
import { recordAudit } from '../dlq/audit.js';

export type OperationKind = 'replay' | 'rebuild';
export type OperationStatus = 'pending' | 'running' | 'done' | 'failed';

export interface OperationRequest {
  readonly id: number;
  readonly consumer: string;
  readonly kind: OperationKind;
  readonly params: Record<string, unknown>;
  readonly status: OperationStatus;
  readonly requestedBy: string;
  readonly reason: string;
  readonly requestedAt: string;
  readonly runner: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly done: number;
  readonly total: number | null;
  readonly result: Record<string, unknown> | null;
  readonly error: string | null;
}

interface Row {
  id: number;
  consumer: string;
  kind: OperationKind;
  params: Record<string, unknown>;
  status: OperationStatus;
  requested_by: string;
  reason: string;
  requested_at: Date;
  runner: string | null;
  started_at: Date | null;
  finished_at: Date | null;
  done: number;
  total: number | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

const iso = (t: Date | null) => (t ? new Date(t).toISOString() : null);

function toRequest(r: Row): OperationRequest {
  return {
    id: Number(r.id),
    consumer: r.consumer,
    kind: r.kind,
    params: r.params,
    status: r.status,
    requestedBy: r.requested_by,
    reason: r.reason,
    requestedAt: iso(r.requested_at)!,
    runner: r.runner,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    done: Number(r.done),
    total: r.total === null ? null : Number(r.total),
    result: r.result,
    error: r.error,
  };
}

export const operationsChannel = (schema: string): string => `tidemark_ops_${schema}`;

/** The request table, shared by whoever asks (CLI, server) and the consumer that carries requests out. */
export function operationRequests(db: Db, schema = 'tidemark') {
  const s = quoteIdentifier(schema, 'schema name');
  const columns = `id, consumer, kind, params, status, requested_by, reason, requested_at, runner,
    started_at, finished_at, done, total, result, error`;
  return {
    async request(input: {
      consumer: string;
      kind: OperationKind;
      params: Record<string, unknown>;
      actor: string;
      reason: string;
    }): Promise<OperationRequest> {
      if (!input.actor.trim())
        throw new TidemarkError('TM_INVALID_ARGUMENT', `${input.kind} needs an actor (--actor)`);
      if (input.reason.trim().length < 3) {
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `${input.kind} needs a reason of at least 3 characters, recorded in the audit log (e.g. --reason "projection lost rows in incident 42")`,
        );
      }
      return db.transaction(async (tx) => {
        const row = (
          await tx.query<Row>(
            `INSERT INTO ${s}.operation_requests (consumer, kind, params, requested_by, reason)
             VALUES ($1, $2, $3::jsonb, $4, $5) RETURNING ${columns}`,
            [input.consumer, input.kind, JSON.stringify(input.params), input.actor, input.reason],
          )
        ).rows[0]!;
        await recordAudit(tx, s, {
          actor: input.actor,
          action: `operation.${input.kind}`,
          target: `consumer:${input.consumer}`,
          reason: input.reason,
          details: { request: Number(row.id), params: input.params },
        });
        await tx.query(`SELECT pg_notify($1, $2)`, [operationsChannel(schema), String(row.id)]);
        return toRequest(row);
      });
    },
    async get(id: number): Promise<OperationRequest> {
      const row = (await db.query<Row>(`SELECT ${columns} FROM ${s}.operation_requests WHERE id = $1`, [id]))
        .rows[0];
      if (!row)
        throw new TidemarkError(
          'TM_INVALID_ARGUMENT',
          `there is no operation request #${id} in schema ${schema}`,
        );
      return toRequest(row);
    },
    /** Takes the oldest pending request of `consumer`; only one instance gets it. */
    async claim(consumer: string, runner: string): Promise<OperationRequest | undefined> {
      const row = (
        await db.query<Row>(
          `UPDATE ${s}.operation_requests SET status = 'running', runner = $2, started_at = now()
           WHERE id = (SELECT id FROM ${s}.operation_requests WHERE consumer = $1 AND status = 'pending'
                       ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING ${columns}`,
          [consumer, runner],
        )
      ).rows[0];
      return row ? toRequest(row) : undefined;
    },
    async progress(id: number, done: number, total: number): Promise<void> {
      await db.query(`UPDATE ${s}.operation_requests SET done = $2, total = $3 WHERE id = $1`, [
        id,
        done,
        total,
      ]);
    },
    async finish(
      id: number,
      outcome: { result: Record<string, unknown> } | { error: string },
      sql: Sql = db,
    ): Promise<void> {
      await sql.query(
        `UPDATE ${s}.operation_requests SET status = $2, finished_at = now(), result = $3::jsonb, error = $4 WHERE id = $1`,
        [
          id,
          'error' in outcome ? 'failed' : 'done',
          'result' in outcome ? JSON.stringify(outcome.result) : null,
          'error' in outcome ? outcome.error : null,
        ],
      );
    },
  };
}

export type OperationRequests = ReturnType<typeof operationRequests>;

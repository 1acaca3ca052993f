import type { Sql } from '../store/db.js';

export interface AuditRecord {
  readonly actor: string;
  /** What was done, e.g. `dlq.skip`. */
  readonly action: string;
  /** What it was done to, e.g. `dead-letter:42`. */
  readonly target: string;
  readonly reason: string;
  readonly details?: Record<string, unknown>;
}

export interface AuditEntry extends AuditRecord {
  readonly id: number;
  readonly at: string;
}

/** Writes an audit row; call it in the same transaction as the action it records. */
export async function recordAudit(tx: Sql, quotedSchema: string, record: AuditRecord): Promise<void> {
  await tx.query(
    `INSERT INTO ${quotedSchema}.operator_audit (actor, action, target, reason, details) VALUES ($1, $2, $3, $4, $5::jsonb)`,
    [record.actor, record.action, record.target, record.reason, JSON.stringify(record.details ?? {})],
  );
}

export async function listAudit(sql: Sql, quotedSchema: string, limit: number): Promise<AuditEntry[]> {
  const rows = await sql.query<{
    id: number;
    at: Date;
    actor: string;
    action: string;
    target: string;
    reason: string;
    details: Record<string, unknown>;
  }>(
    `SELECT id, at, actor, action, target, reason, details FROM ${quotedSchema}.operator_audit
     ORDER BY id DESC LIMIT $1`,
    [Math.min(Math.max(1, limit), 10_000)],
  );
  return rows.rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    reason: r.reason,
    details: r.details,
  }));
}

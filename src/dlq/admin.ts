import type { Envelope } from '../envelope/types.js';
import { contentDigest } from '../envelope/canonical.js';
import { parseEnvelope } from '../envelope/validate.js';
import { TidemarkError } from '../errors.js';
import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { dlqChannel } from './sql.js';
import { recordAudit, type AuditEntry, listAudit } from './audit.js';

export type DeadLetterStatus = 'open' | 'retry' | 'parked' | 'resolved' | 'skipped';

export interface DeadLetter {
  readonly id: number;
  readonly consumer: string;
  readonly status: DeadLetterStatus;
  readonly eventId: string;
  readonly authority: string;
  readonly entityType: string | null;
  readonly entityId: string | null;
  readonly entityVersion: number | null;
  readonly partitionKey: string | null;
  readonly code: string;
  readonly reason: string;
  readonly attempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** For a head: how many events of its key wait behind it. */
  readonly parkedBehind: number;
}

export interface DeadLetterDetail extends DeadLetter {
  readonly envelope: unknown;
  /** The envelope as it first failed, when an operator has edited it since. */
  readonly originalEnvelope: unknown;
  readonly stack: string | null;
}

/** Who acts and why; both are required and end up in the audit log. */
export interface OperatorAction {
  readonly actor: string;
  readonly reason: string;
}

export interface DeadLetterFilter {
  readonly consumer?: string;
  /** A status, or 'active' (open, retry and parked; the default) or 'all'. */
  readonly status?: DeadLetterStatus | 'active' | 'all';
  readonly limit?: number;
}

export interface DeadLetterCounts {
  readonly consumer: string;
  readonly open: number;
  readonly parked: number;
  readonly parkedKeys: number;
}

export interface DeadLetterAdminOptions {
  /** The consumer's database (dead letters live beside the consumer's projection). */
  readonly db: Db;
  readonly schema?: string;
  /** Extra check of an edited envelope, e.g. the event type's JSON Schema; throw to refuse. */
  readonly validate?: (envelope: Envelope) => void;
}

/**
 * Operator actions on dead letters. They only change records: the running consumer performs
 * the re-application (it has the handlers), woken by NOTIFY, in key order.
 */
export interface DeadLetterAdmin {
  list(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  show(id: number): Promise<DeadLetterDetail>;
  /** Releases a head for one more attempt by the consumer. */
  retry(id: number, action: OperatorAction): Promise<DeadLetterDetail>;
  /** Gives up on an event on purpose: it never takes effect, and its key moves on. */
  skip(id: number, action: OperatorAction): Promise<DeadLetterDetail>;
  /** Replaces the event's data (validated), keeps the original, and releases it like retry. */
  edit(id: number, data: unknown, action: OperatorAction): Promise<DeadLetterDetail>;
  counts(): Promise<DeadLetterCounts[]>;
  audit(limit?: number): Promise<AuditEntry[]>;
}

interface Row {
  id: number;
  consumer: string;
  status: DeadLetterStatus;
  event_id: string;
  authority: string;
  entity_type: string | null;
  entity_id: string | null;
  entity_version: number | null;
  partition_key: string | null;
  code: string;
  reason: string;
  attempts: number;
  created_at: Date | string;
  updated_at: Date | string;
  parked_behind: number;
  envelope: unknown;
  original_envelope: unknown;
  stack: string | null;
}

const iso = (t: Date | string) => (t instanceof Date ? t.toISOString() : new Date(t).toISOString());

function summary(r: Row): DeadLetter {
  return {
    id: Number(r.id),
    consumer: r.consumer,
    status: r.status,
    eventId: r.event_id,
    authority: r.authority,
    entityType: r.entity_type,
    entityId: r.entity_id,
    entityVersion: r.entity_version === null ? null : Number(r.entity_version),
    partitionKey: r.partition_key,
    code: r.code,
    reason: r.reason,
    attempts: Number(r.attempts),
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    parkedBehind: Number(r.parked_behind ?? 0),
  };
}

function requireAction(action: OperatorAction, verb: string): void {
  if (!action || typeof action.actor !== 'string' || action.actor.trim() === '') {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${verb} needs an actor: who is doing this (e.g. --actor jane)`,
    );
  }
  if (typeof action.reason !== 'string' || action.reason.trim().length < 3) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${verb} needs a reason of at least 3 characters, recorded in the audit log ` +
        `(e.g. --reason "handler fixed in release 1.4")`,
    );
  }
}

export function createDeadLetterAdmin(options: DeadLetterAdminOptions): DeadLetterAdmin {
  const schema = options.schema ?? 'tidemark';
  const s = quoteIdentifier(schema, 'schema name');
  const { db } = options;
  const select = `SELECT d.*,
      CASE WHEN d.status IN ('open', 'retry') THEN (SELECT count(*) FROM ${s}.dead_letters p
        WHERE p.consumer = d.consumer AND p.partition_key = d.partition_key AND p.status = 'parked' AND p.id > d.id)
      ELSE 0 END AS parked_behind
    FROM ${s}.dead_letters d`;

  async function load(sql: Sql, id: number, lock: boolean): Promise<Row> {
    if (!Number.isSafeInteger(id) || id < 1) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `a dead-letter id is a positive whole number, got ${JSON.stringify(id)}`,
      );
    }
    const row = (await sql.query<Row>(`${select} WHERE d.id = $1${lock ? ' FOR UPDATE OF d' : ''}`, [id]))
      .rows[0];
    if (!row) {
      throw new TidemarkError(
        'TM_DLQ_NOT_FOUND',
        `there is no dead letter #${id} in schema ${schema}; run "tidemark dlq list" to see the ids`,
        { context: { id, schema } },
      );
    }
    return row;
  }

  function detail(r: Row): DeadLetterDetail {
    return { ...summary(r), envelope: r.envelope, originalEnvelope: r.original_envelope, stack: r.stack };
  }

  async function act(
    id: number,
    verb: 'retry' | 'skip' | 'edit',
    action: OperatorAction,
    allowed: readonly DeadLetterStatus[],
    change: (tx: Sql, row: Row) => Promise<Record<string, unknown>>,
  ): Promise<DeadLetterDetail> {
    requireAction(action, verb);
    const updated = await db.transaction(async (tx) => {
      const row = await load(tx, id, true);
      if (!allowed.includes(row.status)) {
        const hint =
          row.status === 'parked'
            ? `it waits behind an earlier dead letter of key ${row.partition_key}; ${verb} that one first`
            : `only ${allowed.join(' or ')} dead letters can be ${verb === 'retry' ? 'retried' : verb === 'skip' ? 'skipped' : 'edited'}`;
        throw new TidemarkError('TM_DLQ_STATE', `dead letter #${id} is ${row.status}: ${hint}`, {
          context: { id, status: row.status },
        });
      }
      const details = await change(tx, row);
      await recordAudit(tx, s, {
        actor: action.actor,
        action: `dlq.${verb}`,
        target: `dead-letter:${id}`,
        reason: action.reason,
        details: { consumer: row.consumer, eventId: row.event_id, ...details },
      });
      await tx.query(`SELECT pg_notify($1, $2)`, [dlqChannel(schema), String(id)]);
      return load(tx, id, false);
    });
    return detail(updated);
  }

  return {
    async list(filter = {}) {
      const status = filter.status ?? 'active';
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.consumer) {
        params.push(filter.consumer);
        where.push(`d.consumer = $${params.length}`);
      }
      if (status === 'active') where.push(`d.status IN ('open', 'retry', 'parked')`);
      else if (status !== 'all') {
        params.push(status);
        where.push(`d.status = $${params.length}`);
      }
      params.push(Math.min(Math.max(1, filter.limit ?? 100), 10_000));
      const rows = await db.query<Row>(
        `${select} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.id LIMIT $${params.length}`,
        params,
      );
      return rows.rows.map(summary);
    },
    async show(id) {
      return detail(await load(db, id, false));
    },
    retry(id, action) {
      return act(id, 'retry', action, ['open'], async (tx) => {
        await tx.query(`UPDATE ${s}.dead_letters SET status = 'retry', updated_at = now() WHERE id = $1`, [
          id,
        ]);
        return {};
      });
    },
    skip(id, action) {
      return act(id, 'skip', action, ['open', 'retry', 'parked'], async (tx, row) => {
        await tx.query(`UPDATE ${s}.dead_letters SET status = 'skipped', updated_at = now() WHERE id = $1`, [
          id,
        ]);
        const envelope = row.envelope as Partial<Envelope>;
        if (row.entity_type && row.entity_id && row.entity_version !== null) {
          // Recorded as received, so a redelivery does not resurrect it ...
          await tx.query(
            `INSERT INTO ${s}.inbox (consumer, authority, event_id, entity_type, entity_id, entity_version, digest, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'skipped') ON CONFLICT DO NOTHING`,
            [
              row.consumer,
              row.authority,
              row.event_id,
              row.entity_type,
              row.entity_id,
              row.entity_version,
              contentDigest(row.original_envelope ?? row.envelope),
            ],
          );
          // ... and a skipped domain event counts as this version, so the next one can apply.
          if (envelope.eventkind === 'domain') {
            await tx.query(
              `INSERT INTO ${s}.consumer_entities (consumer, entity_type, entity_id, version) VALUES ($1, $2, $3, $4)
               ON CONFLICT (consumer, entity_type, entity_id) DO UPDATE SET version = $4
               WHERE ${s}.consumer_entities.version = $4 - 1`,
              [row.consumer, row.entity_type, row.entity_id, row.entity_version],
            );
          }
        }
        return { entity: `${row.entity_type}/${row.entity_id}@${row.entity_version}` };
      });
    },
    edit(id, data, action) {
      return act(id, 'edit', action, ['open', 'retry', 'parked'], async (tx, row) => {
        const before = row.envelope as Record<string, unknown>;
        const candidate = { ...before, data } as Record<string, unknown>;
        if (data === undefined) delete candidate.data;
        const envelope = parseEnvelope(candidate);
        options.validate?.(envelope);
        await tx.query(
          `UPDATE ${s}.dead_letters
           SET envelope = $2::jsonb, original_envelope = coalesce(original_envelope, envelope),
               status = CASE WHEN status = 'open' THEN 'retry' ELSE status END, updated_at = now()
           WHERE id = $1`,
          [id, JSON.stringify(envelope)],
        );
        return { before: before.data ?? null, after: data ?? null };
      });
    },
    async counts() {
      const rows = await db.query<{ consumer: string; open: number; parked: number; parked_keys: number }>(
        `SELECT consumer,
           count(*) FILTER (WHERE status IN ('open', 'retry'))::int AS open,
           count(*) FILTER (WHERE status = 'parked')::int AS parked,
           count(DISTINCT partition_key) FILTER (WHERE status IN ('open', 'retry', 'parked'))::int AS parked_keys
         FROM ${s}.dead_letters WHERE status IN ('open', 'retry', 'parked') GROUP BY consumer ORDER BY consumer`,
      );
      return rows.rows.map((r) => ({
        consumer: r.consumer,
        open: Number(r.open),
        parked: Number(r.parked),
        parkedKeys: Number(r.parked_keys),
      }));
    },
    audit(limit = 100) {
      return listAudit(db, s, limit);
    },
  };
}

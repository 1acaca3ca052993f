import { TidemarkError } from '../errors.js';
import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';

export interface ReconcileException {
  readonly id: number;
  readonly flow: string;
  readonly entityType: string;
  readonly entityId: string;
  readonly class: string;
  readonly authorityVersion: number | null;
  readonly replicaVersion: number | null;
  readonly status: 'open' | 'investigating' | 'resolved';
  readonly assignee: string | null;
  readonly notes: string;
  readonly resolution: string | null;
  readonly runId: number | null;
}

const columns = `id, flow, entity_type, entity_id, class, authority_version::text, replica_version::text,
  status, assignee, notes, resolution, run_id::text`;

interface Row {
  id: string;
  flow: string;
  entity_type: string;
  entity_id: string;
  class: string;
  authority_version: string | null;
  replica_version: string | null;
  status: ReconcileException['status'];
  assignee: string | null;
  notes: string;
  resolution: string | null;
  run_id: string | null;
}

const num = (v: string | null) => (v === null ? null : Number(v));
const toException = (r: Row): ReconcileException => ({
  id: Number(r.id),
  flow: r.flow,
  entityType: r.entity_type,
  entityId: r.entity_id,
  class: r.class,
  authorityVersion: num(r.authority_version),
  replicaVersion: num(r.replica_version),
  status: r.status,
  assignee: r.assignee,
  notes: r.notes,
  resolution: r.resolution,
  runId: num(r.run_id),
});

/** The exceptions a reconciliation opened for people, in the replica's schema. */
export function reconcileExceptions(sql: Sql, schema = 'tidemark') {
  const s = quoteIdentifier(schema, 'schema name');
  const one = async (text: string, params: unknown[], id: number) => {
    const row = (await sql.query<Row>(text, params)).rows[0];
    if (!row) {
      throw new TidemarkError(
        'TM_INVALID_ARGUMENT',
        `there is no unresolved reconciliation exception #${id}`,
        {
          context: { id },
        },
      );
    }
    return toException(row);
  };
  return {
    async list(filter: { flow?: string; status?: ReconcileException['status'] } = {}) {
      const rows = await sql.query<Row>(
        `SELECT ${columns} FROM ${s}.recon_exceptions
         WHERE ($1::text IS NULL OR flow = $1) AND ($2::text IS NULL OR status = $2) ORDER BY id`,
        [filter.flow ?? null, filter.status ?? null],
      );
      return rows.rows.map(toException);
    },
    /** Takes an exception on: it moves to `investigating` with the assignee and an optional note. */
    assign: (id: number, assignee: string, note = '') =>
      one(
        `UPDATE ${s}.recon_exceptions SET status = 'investigating', assignee = $2,
           notes = CASE WHEN $3 = '' THEN notes ELSE concat_ws(E'\\n', nullif(notes, ''), $3) END, updated_at = now()
         WHERE id = $1 AND status <> 'resolved' RETURNING ${columns}`,
        [id, assignee, note],
        id,
      ),
    /** Closes an exception with what was done about it. */
    resolve: (id: number, resolution: string) =>
      one(
        `UPDATE ${s}.recon_exceptions SET status = 'resolved', resolution = $2, updated_at = now()
         WHERE id = $1 AND status <> 'resolved' RETURNING ${columns}`,
        [id, resolution],
        id,
      ),
  };
}

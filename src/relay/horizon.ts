import type { Db } from '../store/db.js';

/** The open transaction that keeps the relay's read horizon where it is. */
export interface HorizonHolder {
  readonly pid: number;
  /** Its transaction id (32-bit, as `pg_stat_activity.backend_xid` shows it). */
  readonly xid: string;
  /** When it began (ISO time). */
  readonly since: string;
  readonly ageSeconds: number;
  /** `application_name` of its session, when the client set one. */
  readonly applicationName: string | null;
  readonly state: string;
  readonly database: string | null;
}

/**
 * Why a relay cannot move on. The relay only reads rows of transactions older than the
 * oldest one still open (`pg_snapshot_xmin`), so one forgotten `BEGIN` anywhere in the
 * cluster stops every relay of every schema, however many rows committed after it.
 */
export interface HorizonDiagnosis {
  /** Committed outbox rows after the cursor that the relay may not read yet. */
  readonly waitingRows: number;
  /** The oldest open transaction with an id, if any. */
  readonly holder?: HorizonHolder;
  /** True when committed rows wait behind `holder`. */
  readonly held: boolean;
  /** How long the horizon has been held back: the holder's age while rows wait, else 0. */
  readonly ageSeconds: number;
  /** One sentence for people, present when `held`. */
  readonly explanation?: string;
}

/**
 * One statement, so the holder and the waiting rows come from the same snapshot. Transaction
 * ids are cluster-wide: the holder may be in another database (its name is reported).
 */
const statement = (s: string) => `WITH cursor AS (
    SELECT coalesce((SELECT txid FROM ${s}.relay_checkpoints WHERE relay = $1), '0'::xid8) AS txid,
           coalesce((SELECT position FROM ${s}.relay_checkpoints WHERE relay = $1), 0) AS position),
  holder AS (
    SELECT pid, backend_xid::text AS xid, state, application_name, datname, xact_start,
      extract(epoch FROM clock_timestamp() - xact_start)::float8 AS age_seconds
    FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
    ORDER BY age(backend_xid) DESC LIMIT 1)
  SELECT h.pid, h.xid, h.state, h.application_name, h.datname, h.xact_start, h.age_seconds,
    (SELECT count(*)::int FROM ${s}.outbox o, cursor c
      WHERE (o.txid, o.position) > (c.txid, c.position)
        AND o.txid >= pg_snapshot_xmin(pg_current_snapshot())) AS waiting
  FROM (SELECT 1) AS one LEFT JOIN holder h ON true`;

interface Row {
  pid: number | null;
  xid: string | null;
  state: string | null;
  application_name: string | null;
  datname: string | null;
  xact_start: Date | string | null;
  age_seconds: number | null;
  waiting: number;
}

/**
 * Diagnoses the read horizon of relay `relay` over the quoted schema `s`. On PGlite (one
 * connection, transactions one at a time) no other transaction can hold it: never held.
 */
export async function diagnoseHorizon(db: Db, s: string, relay = 'default'): Promise<HorizonDiagnosis> {
  if (!db.capabilities.concurrentTransactions) return { waitingRows: 0, held: false, ageSeconds: 0 };
  const row = (await db.query<Row>(statement(s), [relay])).rows[0]!;
  const waitingRows = Number(row.waiting);
  if (row.pid == null || row.xid == null || row.xact_start == null) {
    return { waitingRows, held: false, ageSeconds: 0 };
  }
  const holder: HorizonHolder = {
    pid: Number(row.pid),
    xid: row.xid,
    since: new Date(row.xact_start).toISOString(),
    ageSeconds: Math.max(0, Number(row.age_seconds)),
    applicationName: row.application_name ? row.application_name : null,
    state: row.state ?? 'unknown',
    database: row.datname,
  };
  const held = waitingRows > 0;
  return {
    waitingRows,
    holder,
    held,
    ageSeconds: held ? holder.ageSeconds : 0,
    ...(held ? { explanation: explainHorizon(waitingRows, holder) } : {}),
  };
}

/** `3 committed events wait behind transaction 1234 (pid 99, application "batch-import", idle in transaction) open since …`. */
export function explainHorizon(waitingRows: number, holder: HorizonHolder): string {
  const from = holder.applicationName ? `application "${holder.applicationName}"` : 'no application_name';
  return (
    `${waitingRows} committed event${waitingRows === 1 ? '' : 's'} wait behind transaction ${holder.xid} ` +
    `(pid ${holder.pid}, ${from}, ${holder.state}${holder.database ? `, database ${holder.database}` : ''}) ` +
    `open since ${holder.since} (${Math.round(holder.ageSeconds)} s); ` +
    `commit or roll it back, or end it with SELECT pg_terminate_backend(${holder.pid})`
  );
}

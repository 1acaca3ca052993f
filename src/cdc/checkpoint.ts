import type { Sql } from '../store/db.js';

export interface Checkpoint {
  readonly slot: string;
  /** Commit LSN of the last source transaction whose events are durably in the outbox. */
  readonly lsn: string;
}

export interface SnapshotProgress {
  readonly table: string;
  /** Primary-key values of the last row written, in key order; null before the first chunk. */
  readonly lastKey: readonly unknown[] | null;
  readonly done: boolean;
}

/** Reads the capture's checkpoint (`s` is the quoted Tidemark schema). */
export async function loadCheckpoint(sql: Sql, s: string, capture: string): Promise<Checkpoint | undefined> {
  const { rows } = await sql.query<{ slot: string; lsn: string }>(
    `SELECT slot, lsn::text AS lsn FROM ${s}.cdc_checkpoints WHERE capture = $1`,
    [capture],
  );
  return rows[0];
}

/** First start: the checkpoint row, and one snapshot progress row per table that needs a snapshot. */
export async function createCheckpoint(
  sql: Sql,
  s: string,
  capture: string,
  slot: string,
  snapshotTables: readonly string[],
): Promise<void> {
  await sql.query(`INSERT INTO ${s}.cdc_checkpoints (capture, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
    capture,
    slot,
  ]);
  await addSnapshotTables(sql, s, capture, snapshotTables);
}

/** Tables added to a running capture get their snapshot too; known tables keep their progress. */
export async function addSnapshotTables(
  sql: Sql,
  s: string,
  capture: string,
  tables: readonly string[],
): Promise<void> {
  await sql.query(
    `INSERT INTO ${s}.cdc_snapshot_progress (capture, table_name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
    [capture, tables],
  );
}

/**
 * Moves the checkpoint to `lsn` in the caller's transaction, the one that wrote the events, and
 * forgets the dedup rows it now covers. Never moves backwards.
 */
export async function saveCheckpoint(
  tx: Sql,
  s: string,
  capture: string,
  lsn: string,
  changes: number,
): Promise<void> {
  await tx.query(
    `UPDATE ${s}.cdc_checkpoints
     SET lsn = greatest(lsn, $2::pg_lsn), transactions = transactions + 1, changes = changes + $3, updated_at = now()
     WHERE capture = $1`,
    [capture, lsn, changes],
  );
  await tx.query(`DELETE FROM ${s}.cdc_seen WHERE capture = $1 AND lsn <= $2::pg_lsn`, [capture, lsn]);
}

export async function loadSnapshotProgress(
  sql: Sql,
  s: string,
  capture: string,
): Promise<SnapshotProgress[]> {
  const { rows } = await sql.query<{ table_name: string; last_key: unknown[] | null; done: boolean }>(
    `SELECT table_name, last_key, done FROM ${s}.cdc_snapshot_progress WHERE capture = $1 ORDER BY table_name`,
    [capture],
  );
  return rows.map((r) => ({ table: r.table_name, lastKey: r.last_key, done: r.done }));
}

export async function saveSnapshotProgress(
  tx: Sql,
  s: string,
  capture: string,
  progress: SnapshotProgress,
  rows: number,
): Promise<void> {
  await tx.query(
    `UPDATE ${s}.cdc_snapshot_progress SET last_key = $3::jsonb, done = $4, rows = rows + $5, updated_at = now()
     WHERE capture = $1 AND table_name = $2`,
    [capture, progress.table, JSON.stringify(progress.lastKey), progress.done, rows],
  );
}

/** Forgets everything the capture recorded, for a re-seed after its slot was lost. */
export async function deleteCaptureState(tx: Sql, s: string, capture: string): Promise<void> {
  for (const table of ['cdc_checkpoints', 'cdc_seen', 'cdc_snapshot_progress']) {
    await tx.query(`DELETE FROM ${s}.${table} WHERE capture = $1`, [capture]);
  }
}

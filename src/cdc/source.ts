import type pg from 'pg';
import { TidemarkError } from '../errors.js';
import { quoteIdentifier } from '../store/identifier.js';

/** A captured table as found on the source. */
export interface SourceTable {
  /** `schema.table` as configured. */
  readonly name: string;
  /** `"schema"."table"`, validated and quoted. */
  readonly quoted: string;
  /** Primary-key columns in key order. */
  readonly keyColumns: readonly string[];
}

/** Splits and validates `schema.table` (a bare name means schema `public`). */
export function parseTableName(name: string): {
  schema: string;
  table: string;
  quoted: string;
  name: string;
} {
  const parts = typeof name === 'string' ? name.split('.') : [];
  const [schema, table] = parts.length === 1 ? ['public', parts[0]!] : parts;
  if (parts.length > 2 || schema === undefined || table === undefined) {
    throw new TidemarkError(
      'TM_INVALID_IDENTIFIER',
      `captured table ${JSON.stringify(name)} must be written "schema.table" (e.g. "legacy.customers")`,
      { context: { name } },
    );
  }
  const quoted = `${quoteIdentifier(schema, 'source schema name')}.${quoteIdentifier(table, 'source table name')}`;
  return { schema, table, quoted, name: `${schema}.${table}` };
}

/** Refuses a source that cannot do logical replication, with the exact fix. */
export async function checkSourceReady(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ wal_level: string; role: string; can_replicate: boolean }>(
    `SELECT current_setting('wal_level') AS wal_level, current_user AS role,
            (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate`,
  );
  const { wal_level: walLevel, role, can_replicate: canReplicate } = rows[0]!;
  if (walLevel !== 'logical') {
    throw new TidemarkError(
      'TM_CDC_WAL_LEVEL',
      `the source database runs with wal_level=${walLevel}; CDC needs logical: run ` +
        `"ALTER SYSTEM SET wal_level = logical;" as a superuser and restart PostgreSQL`,
      { context: { walLevel } },
    );
  }
  if (!canReplicate) {
    throw new TidemarkError(
      'TM_CDC_PRIVILEGE',
      `role ${JSON.stringify(role)} may not use replication: run "ALTER ROLE ${role} WITH REPLICATION;" as a superuser`,
      { context: { role } },
    );
  }
}

/** Finds each table and its primary key; a table without one cannot be captured. */
export async function describeTables(client: pg.Client, names: readonly string[]): Promise<SourceTable[]> {
  const tables: SourceTable[] = [];
  for (const configured of names) {
    const { quoted, name } = parseTableName(configured);
    const found = await client.query<{ oid: number | null; readable: boolean | null }>(
      `SELECT to_regclass($1)::oid AS oid,
              CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE has_table_privilege(to_regclass($1), 'SELECT') END AS readable`,
      [quoted],
    );
    const { oid, readable } = found.rows[0]!;
    if (oid === null) {
      throw new TidemarkError(
        'TM_CDC_TABLE_UNUSABLE',
        `captured table ${name} does not exist on the source; check the name (schema.table) and the database`,
        { context: { table: name } },
      );
    }
    if (!readable) {
      throw new TidemarkError(
        'TM_CDC_PRIVILEGE',
        `the source role may not read ${name}, which the snapshot needs: run "GRANT SELECT ON ${quoted} TO <role>;"`,
        { context: { table: name } },
      );
    }
    const key = await client.query<{ attname: string }>(
      `SELECT a.attname FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
       WHERE i.indrelid = $1::oid AND i.indisprimary
       ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [oid],
    );
    if (key.rows.length === 0) {
      throw new TidemarkError(
        'TM_CDC_TABLE_UNUSABLE',
        `captured table ${name} has no primary key; CDC identifies each row by it: ` +
          `run "ALTER TABLE ${quoted} ADD PRIMARY KEY (<columns>);"`,
        { context: { table: name } },
      );
    }
    tables.push({ name, quoted, keyColumns: key.rows.map((r) => r.attname) });
  }
  return tables;
}

/** Creates the publication, or sets its tables to exactly the captured ones. */
export async function ensurePublication(
  client: pg.Client,
  publication: string,
  tables: readonly SourceTable[],
): Promise<void> {
  const quotedPublication = quoteIdentifier(publication, 'publication name');
  const list = tables.map((t) => t.quoted).join(', ');
  const exists = await client.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [publication]);
  try {
    if (exists.rows.length === 0)
      await client.query(`CREATE PUBLICATION ${quotedPublication} FOR TABLE ${list}`);
    else await client.query(`ALTER PUBLICATION ${quotedPublication} SET TABLE ${list}`);
  } catch (cause) {
    throw new TidemarkError(
      'TM_CDC_PRIVILEGE',
      `cannot create or alter publication ${publication}: ${(cause as Error).message}; ` +
        `a superuser or the tables' owner can run "CREATE PUBLICATION ${quotedPublication} FOR TABLE ${list};"`,
      { cause, context: { publication } },
    );
  }
}

/** Whether the slot exists, and whether it is usable (PostgreSQL invalidates slots past max_slot_wal_keep_size). */
export async function slotState(client: pg.Client, slot: string): Promise<'missing' | 'lost' | 'ok'> {
  const { rows } = await client.query<{ wal_status: string | null }>(
    `SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()`,
    [slot],
  );
  if (rows.length === 0) return 'missing';
  return rows[0]!.wal_status === 'lost' ? 'lost' : 'ok';
}

export async function createSlot(client: pg.Client, slot: string): Promise<void> {
  quoteIdentifier(slot, 'replication slot name');
  await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
}

/** Drops the slot (waiting for it to become inactive) and the publication. */
export async function dropSlotAndPublication(
  client: pg.Client,
  slot: string,
  publication: string,
): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await client.query(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`,
        [slot],
      );
      break;
    } catch (err) {
      // A just-stopped walsender may still hold the slot for a moment.
      if (attempt >= 50 || !/is active/.test((err as Error).message)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdentifier(publication, 'publication name')}`);
}

/** Bytes of WAL the slot holds back: what `tidemark_cdc_lag_bytes` reports. */
export async function slotLagBytes(client: pg.Client, slot: string): Promise<number | undefined> {
  const { rows } = await client.query<{ lag: string | null }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag
     FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const lag = rows[0]?.lag;
  return lag === undefined || lag === null ? undefined : Number(lag);
}

/** Debezium PostgreSQL-connector events of a `legacy.customers`-like table, as the connector sends them. */
export interface DebeziumRow {
  readonly id: number;
  readonly rev: number;
  readonly addr_line1: string | null;
}

let lsn = 23_000_000;

/** A change event with a fresh LSN (each change in the WAL has its own position). */
export function debeziumEvent(
  table: string,
  op: 'c' | 'u' | 'd' | 'r' | 't',
  rows: { before?: DebeziumRow | null; after?: DebeziumRow | null },
  at = (lsn += 56),
): Record<string, unknown> {
  const [schema, name] = table.split('.');
  return {
    before: rows.before ?? null,
    after: rows.after ?? null,
    source: {
      version: '2.7.3.Final',
      connector: 'postgresql',
      name: 'legacy',
      ts_ms: 1_790_000_000_000,
      snapshot: op === 'r' ? 'true' : 'false',
      db: 'policy',
      schema,
      table: name,
      txId: 771,
      lsn: at,
    },
    op,
    ts_ms: 1_790_000_000_123,
  };
}

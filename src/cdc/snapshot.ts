import type pg from 'pg';
import type { Row } from './types.js';
import type { SourceTable } from './source.js';

/** Prefix of the logical messages a capture writes into its own source WAL. */
export const watermarkPrefix = (capture: string): string => `tidemark.cdc.${capture}`;

export type Watermark = { readonly kind: 'low' | 'high' | 'sync'; readonly id: string };

/**
 * Writes a watermark into the source's WAL as a transactional logical message: it reaches the
 * stream at its commit, in commit order with the row changes, without any table in the legacy
 * schema (DBLog's watermark table, done with `pg_logical_emit_message`).
 */
export async function emitWatermark(client: pg.Client, capture: string, mark: Watermark): Promise<void> {
  await client.query(`SELECT pg_logical_emit_message(true, $1, $2)`, [
    watermarkPrefix(capture),
    JSON.stringify(mark),
  ]);
}

export function parseWatermark(capture: string, prefix: string, content: Uint8Array): Watermark | undefined {
  if (prefix !== watermarkPrefix(capture)) return undefined;
  try {
    const mark = JSON.parse(Buffer.from(content).toString('utf8')) as Watermark;
    return typeof mark.id === 'string' && ['low', 'high', 'sync'].includes(mark.kind) ? mark : undefined;
  } catch {
    return undefined;
  }
}

/** The next chunk of `table` in primary-key order after `lastKey`. */
export async function readChunk(
  client: pg.Client,
  table: SourceTable,
  lastKey: readonly unknown[] | null,
  size: number,
): Promise<Row[]> {
  const keys = table.keyColumns.map((c) => `"${c.replaceAll('"', '""')}"`);
  const order = keys.join(', ');
  const after = lastKey === null ? '' : `WHERE (${order}) > (${keys.map((_, i) => `$${i + 2}`).join(', ')})`;
  const { rows } = await client.query<Row>(
    `SELECT * FROM ${table.quoted} ${after} ORDER BY ${order} LIMIT $1`,
    [size, ...(lastKey ?? [])],
  );
  return rows;
}

export function keyOf(table: SourceTable, row: Row): Row {
  return Object.fromEntries(table.keyColumns.map((c) => [c, row[c]]));
}

export interface Comparison {
  readonly total: number;
  readonly matching: number;
  /** The first few differences, for the report. */
  readonly differences: readonly { id: string; authority?: unknown; replica?: unknown }[];
}

/**
 * Compares a replica with its authority row by row on the given fields. Pure, so it can run
 * over rows loaded from different databases.
 */
export function compareCopies<T extends { id: string }>(
  authority: readonly T[],
  replica: readonly T[],
  fields: readonly (keyof T)[],
): Comparison {
  const copies = new Map(replica.map((r) => [r.id, r]));
  const differences: { id: string; authority?: unknown; replica?: unknown }[] = [];
  let matching = 0;
  for (const row of authority) {
    const copy = copies.get(row.id);
    copies.delete(row.id);
    if (copy && fields.every((f) => String(copy[f]) === String(row[f]))) matching++;
    else differences.push({ id: row.id, authority: row, replica: copy });
  }
  for (const orphan of copies.values()) differences.push({ id: orphan.id, replica: orphan });
  return { total: authority.length, matching, differences: differences.slice(0, 5) };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

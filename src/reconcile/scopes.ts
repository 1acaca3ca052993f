import type { Sql } from '../store/db.js';
import { digestStatements, missingTables } from './store.js';

export interface ScopeRow {
  readonly flow: string;
  readonly entityType: string;
  readonly context: string;
  readonly fields: readonly string[];
  /** Quoted schema the scope lives in. */
  readonly s: string;
}

/** The registered description of one scope, or undefined if nothing registered it. */
export async function describeScope(sql: Sql, s: string, scope: string): Promise<ScopeRow | undefined> {
  const result = await sql
    .query<{ flow: string; entity_type: string; context: string; fields: string[] }>(
      digestStatements(s).scope,
      [scope],
    )
    .catch((error: unknown) => {
      throw missingTables(s, error);
    });
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    flow: row.flow,
    entityType: row.entity_type,
    context: row.context,
    fields: [...row.fields].sort(),
    s,
  };
}

import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { NotAuthorityError } from '../errors.js';

export interface AuthorityRegistration {
  readonly entityType: string;
  /** The single context allowed to write this entity type. */
  readonly context: string;
}

/**
 * Records which context owns an entity type. Idempotent for the same owner;
 * claiming a type another context owns throws {@link NotAuthorityError}.
 */
export async function registerAuthority(
  sql: Sql,
  registration: AuthorityRegistration,
  schema = 'tidemark',
): Promise<void> {
  const s = quoteIdentifier(schema, 'schema name');
  const { entityType, context } = registration;
  const result = await sql.query<{ context: string }>(
    `INSERT INTO ${s}.authorities (entity_type, context) VALUES ($1, $2)
     ON CONFLICT (entity_type) DO UPDATE SET context = ${s}.authorities.context
     RETURNING context`,
    [entityType, context],
  );
  const owner = result.rows[0]?.context;
  if (owner !== context) throw new NotAuthorityError(entityType, context, owner ?? '(unknown)');
}

export async function loadAuthorities(sql: Sql, schema = 'tidemark'): Promise<Map<string, string>> {
  const s = quoteIdentifier(schema, 'schema name');
  const result = await sql.query<{ entity_type: string; context: string }>(
    `SELECT entity_type, context FROM ${s}.authorities`,
  );
  return new Map(result.rows.map((r) => [r.entity_type, r.context]));
}

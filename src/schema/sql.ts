/**
 * Registry statements. Registration runs in one transaction under a per-type advisory lock,
 * so two processes registering versions of the same type are serialised: each sees the other's
 * version before checking compatibility and choosing the next version number.
 */
export function registryStatements(s: string) {
  return {
    lockType: `SELECT pg_advisory_xact_lock(hashtext($1))`,
    mode: `SELECT compatibility FROM ${s}.event_schema_types WHERE event_type = $1`,
    setMode: `INSERT INTO ${s}.event_schema_types (event_type, compatibility) VALUES ($1, $2)
      ON CONFLICT (event_type) DO UPDATE SET compatibility = EXCLUDED.compatibility, updated_at = now()
      WHERE ${s}.event_schema_types.compatibility <> EXCLUDED.compatibility`,
    history: `SELECT version, schema, digest, registered_at FROM ${s}.event_schemas
      WHERE event_type = $1 ORDER BY version`,
    insert: `INSERT INTO ${s}.event_schemas (event_type, version, schema, digest)
      VALUES ($1, $2, $3::jsonb, $4) RETURNING registered_at`,
    one: `SELECT version, schema, digest, registered_at FROM ${s}.event_schemas
      WHERE event_type = $1 AND version = $2`,
    latest: `SELECT version, schema, digest, registered_at FROM ${s}.event_schemas
      WHERE event_type = $1 ORDER BY version DESC LIMIT 1`,
    versions: `SELECT version FROM ${s}.event_schemas WHERE event_type = $1 ORDER BY version`,
    types: `SELECT DISTINCT event_type FROM ${s}.event_schemas ORDER BY event_type`,
    all: `SELECT event_type, version, schema, digest, registered_at FROM ${s}.event_schemas
      ORDER BY event_type, version`,
  };
}

export interface SchemaRow {
  readonly event_type?: string;
  readonly version: number;
  readonly schema: unknown;
  readonly digest: string;
  readonly registered_at: Date | string;
}

import { TidemarkError } from '../errors.js';
import type { Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { pickFields, rowDigest, slotOf } from './digest.js';
import { checkFields, scopeKey, type ScopeSpec, type Side } from './scope.js';

/** Statements over one schema's digest tables. */
export function digestStatements(s: string) {
  return {
    // Writers of one entity are already serialised (entity lock); this lock also covers callers
    // that record outside Tidemark's own paths, so the old digest read below is never stale.
    lockRow: `SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0))`,
    record: `WITH old AS (
        SELECT digest FROM ${s}.recon_rows WHERE scope = $1 AND entity_id = $2
      ), upsert AS (
        INSERT INTO ${s}.recon_rows (scope, entity_id, version, digest, slot)
        VALUES ($1, $2, $3, $4::bigint, $5)
        ON CONFLICT (scope, entity_id) DO UPDATE SET version = EXCLUDED.version, digest = EXCLUDED.digest
        RETURNING 1 AS done
      )
      INSERT INTO ${s}.recon_buckets AS b (scope, bucket, digest, rows)
      SELECT $1, $5 >> 12, $4::bigint # coalesce((SELECT digest FROM old), 0),
             CASE WHEN EXISTS (SELECT 1 FROM old) THEN 0 ELSE 1 END
      FROM upsert
      ON CONFLICT (scope, bucket) DO UPDATE SET digest = b.digest # EXCLUDED.digest, rows = b.rows + EXCLUDED.rows`,
    forget: `WITH gone AS (
        DELETE FROM ${s}.recon_rows WHERE scope = $1 AND entity_id = $2 RETURNING digest, slot >> 12 AS bucket
      )
      UPDATE ${s}.recon_buckets b SET digest = b.digest # gone.digest, rows = b.rows - 1
      FROM gone WHERE b.scope = $1 AND b.bucket = gone.bucket`,
    register: `INSERT INTO ${s}.recon_scopes (scope, side, flow, entity_type, context, fields)
      VALUES ($1, $2, $3, $4, $5, $6::jsonb)
      ON CONFLICT (scope) DO UPDATE SET entity_type = EXCLUDED.entity_type, context = EXCLUDED.context,
        fields = EXCLUDED.fields`,
    scope: `SELECT flow, entity_type, context, fields FROM ${s}.recon_scopes WHERE scope = $1`,
    flows: `SELECT DISTINCT flow FROM ${s}.recon_scopes ORDER BY flow`,
    buckets: `SELECT bucket, digest::text AS digest, rows::text AS rows FROM ${s}.recon_buckets
      WHERE scope = $1 AND rows <> 0`,
    // Sub-bucket digests of the given buckets, folded where the rows are.
    subBuckets: `SELECT r.slot >> 8 AS sub, bit_xor(r.digest)::text AS digest, count(*)::text AS rows
      FROM unnest($2::int[]) AS b(bucket)
      JOIN ${s}.recon_rows r ON r.scope = $1 AND r.slot >= b.bucket * 4096 AND r.slot < (b.bucket + 1) * 4096
      GROUP BY 1`,
    rowsIn: `SELECT r.entity_id, r.version::text AS version, r.digest::text AS digest
      FROM unnest($2::int[]) AS u(sub)
      JOIN ${s}.recon_rows r ON r.scope = $1 AND r.slot >= u.sub * 256 AND r.slot < (u.sub + 1) * 256`,
    row: `SELECT version::text AS version, digest::text AS digest FROM ${s}.recon_rows
      WHERE scope = $1 AND entity_id = $2`,
    unconfirmed: `SELECT entity_id, version::text AS version, slot >> 8 AS sub FROM ${s}.recon_rows
      WHERE scope = $1 AND reconciled_version <> version`,
    confirm: `UPDATE ${s}.recon_rows SET reconciled_version = version
      WHERE scope = $1 AND entity_id = $2 AND version = $3`,
  };
}

/** The digests of one side of one flow, kept in the caller's transactions. */
export interface ScopeDigests {
  readonly side: Side;
  readonly flow: string;
  readonly entityType: string;
  readonly context: string;
  readonly fields: readonly string[];
  /** Quoted schema holding the digest tables. */
  readonly s: string;
  readonly scope: string;
  /** Records that the entity now holds `state` at `version`, in `tx` (the write's own transaction). */
  record(tx: Sql, entityId: string, version: number, state: unknown): Promise<void>;
  /** Records that the entity is gone (deleted at the authority, tombstoned in the replica). */
  forget(tx: Sql, entityId: string): Promise<void>;
  /** Stores the scope's description (entity type, fields), so runs can check both sides describe the same. */
  register(sql: Sql): Promise<void>;
}

export function scopeDigests(side: Side, spec: ScopeSpec & { readonly schema?: string }): ScopeDigests {
  const s = quoteIdentifier(spec.schema ?? 'tidemark', 'schema name');
  const fields = checkFields(spec.fields, spec.flow);
  const sql = digestStatements(s);
  const scope = scopeKey(side, spec.flow);
  return {
    side,
    flow: spec.flow,
    entityType: spec.entityType,
    context: spec.context,
    fields,
    s,
    scope,
    async record(tx, entityId, version, state) {
      const digest = rowDigest(entityId, version, pickFields(state, fields));
      await tx.query(sql.lockRow, [scope, entityId]);
      await tx.query(sql.record, [scope, entityId, version, digest.toString(), slotOf(entityId)]);
    },
    async forget(tx, entityId) {
      await tx.query(sql.lockRow, [scope, entityId]);
      await tx.query(sql.forget, [scope, entityId]);
    },
    async register(db) {
      try {
        await db.query(sql.register, [
          scope,
          side,
          spec.flow,
          spec.entityType,
          spec.context,
          JSON.stringify(fields),
        ]);
      } catch (cause) {
        throw missingTables(s, cause);
      }
    },
  };
}

/** The schema predates migration 5 (or is not a Tidemark schema at all). */
export function missingTables(s: string, cause: unknown): unknown {
  const message = cause instanceof Error ? cause.message : String(cause);
  if (!/recon_\w+" does not exist/.test(message)) return cause;
  return new TidemarkError(
    'TM_RECON_SCHEMA_MISMATCH',
    `schema ${s} has no reconcile tables; run migrate() (or any Tidemark component's start) on it first`,
    { cause, context: { schema: s } },
  );
}

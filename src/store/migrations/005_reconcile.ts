import type { Migration } from './migration.js';

/**
 * Reconciliation. A scope is one side of one flow: the authority's view of an entity type
 * restricted to the fields the flow's consumer may hold, or the consumer's replica of it.
 * `recon_rows` keeps one `(id, version, digest)` per entity and scope, `recon_buckets` the XOR
 * of the row digests per bucket (4,096 by hash of id), both written in the transaction of the
 * change they describe, so a run reads the buckets and only the rows of buckets that differ.
 * A row's `slot` (24 bits of the id's hash; the bucket is its top 12) lets a run narrow a
 * differing bucket to its differing sub-buckets inside the database before reading rows.
 * `reconciled_version` is the version a run last confirmed; rows where it lags are the only
 * ones a run must read to mark `reconciled` in the ledger (a partial index finds them).
 */
export const reconcile: Migration = {
  version: 5,
  name: 'reconcile',
  statements: (s) => [
    `CREATE TABLE ${s}.recon_scopes (
       scope text PRIMARY KEY,
       side text NOT NULL CHECK (side IN ('authority', 'replica')),
       flow text NOT NULL,
       entity_type text NOT NULL,
       context text NOT NULL,
       fields jsonb NOT NULL,
       registered_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE ${s}.recon_rows (
       scope text NOT NULL,
       entity_id text NOT NULL,
       version bigint NOT NULL,
       digest bigint NOT NULL,
       slot integer NOT NULL,
       reconciled_version bigint NOT NULL DEFAULT 0,
       PRIMARY KEY (scope, entity_id)
     )`,
    `CREATE INDEX recon_rows_slot ON ${s}.recon_rows (scope, slot) INCLUDE (digest)`,
    `CREATE INDEX recon_rows_unconfirmed ON ${s}.recon_rows (scope) WHERE reconciled_version <> version`,
    `CREATE TABLE ${s}.recon_buckets (
       scope text NOT NULL,
       bucket integer NOT NULL,
       digest bigint NOT NULL,
       rows bigint NOT NULL,
       PRIMARY KEY (scope, bucket)
     )`,
    `CREATE TABLE ${s}.recon_runs (
       id bigserial PRIMARY KEY,
       flow text NOT NULL,
       status text NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
       dry_run boolean NOT NULL,
       started_at timestamptz NOT NULL DEFAULT now(),
       heartbeat_at timestamptz NOT NULL DEFAULT now(),
       finished_at timestamptz,
       report jsonb
     )`,
    // One run per flow at a time; an interrupted one is resumed by the next.
    `CREATE UNIQUE INDEX recon_runs_active ON ${s}.recon_runs (flow) WHERE status = 'running'`,
    `CREATE TABLE ${s}.recon_findings (
       run_id bigint NOT NULL REFERENCES ${s}.recon_runs (id) ON DELETE CASCADE,
       entity_id text NOT NULL,
       class text NOT NULL CHECK (class IN ('missing', 'stale', 'orphan', 'divergent')),
       authority_version bigint,
       replica_version bigint,
       outcome text,
       detail jsonb NOT NULL DEFAULT '{}'::jsonb,
       PRIMARY KEY (run_id, entity_id)
     )`,
    `CREATE TABLE ${s}.recon_exceptions (
       id bigserial PRIMARY KEY,
       flow text NOT NULL,
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       class text NOT NULL,
       authority_version bigint,
       replica_version bigint,
       status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'investigating', 'resolved')),
       assignee text,
       notes text NOT NULL DEFAULT '',
       resolution text,
       run_id bigint,
       created_at timestamptz NOT NULL DEFAULT now(),
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE UNIQUE INDEX recon_exceptions_active ON ${s}.recon_exceptions (flow, entity_id)
       WHERE status <> 'resolved'`,
  ],
};

import type { Migration } from './migration.js';

/**
 * Change data capture from legacy databases. The checkpoint holds the commit LSN whose effects
 * (the outbox rows translated from it) are durable; it is written in the same transaction as
 * those rows, and only then is the LSN acknowledged to the source's replication slot.
 * `cdc_seen` is the (lsn, table, key) dedup set for work that is written in several
 * transactions before its checkpoint moves (chunks of a large source transaction, Debezium
 * input). `cdc_snapshot_progress` makes the chunked initial snapshot resumable.
 * `cdc_field_values` and `cdc_conflicts` back source precedence while a legacy writer and the
 * new authority coexist.
 */
export const cdc: Migration = {
  version: 6,
  name: 'cdc',
  statements: (s) => [
    `CREATE TABLE ${s}.cdc_checkpoints (
       capture text PRIMARY KEY,
       slot text NOT NULL,
       lsn pg_lsn NOT NULL DEFAULT '0/0',
       transactions bigint NOT NULL DEFAULT 0,
       changes bigint NOT NULL DEFAULT 0,
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE ${s}.cdc_seen (
       capture text NOT NULL,
       lsn pg_lsn NOT NULL,
       table_name text NOT NULL,
       row_key text NOT NULL,
       seen_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (capture, lsn, table_name, row_key)
     )`,
    `CREATE TABLE ${s}.cdc_snapshot_progress (
       capture text NOT NULL,
       table_name text NOT NULL,
       last_key jsonb,
       rows bigint NOT NULL DEFAULT 0,
       done boolean NOT NULL DEFAULT false,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (capture, table_name)
     )`,
    `CREATE TABLE ${s}.cdc_field_values (
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       field text NOT NULL,
       source text NOT NULL,
       value jsonb,
       written_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (entity_type, entity_id, field)
     )`,
    `CREATE TABLE ${s}.cdc_conflicts (
       id bigserial PRIMARY KEY,
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       field text NOT NULL,
       rejected_source text NOT NULL,
       rejected_value jsonb,
       winning_source text NOT NULL,
       winning_value jsonb,
       change_ref text NOT NULL,
       status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
       detected_at timestamptz NOT NULL DEFAULT now(),
       UNIQUE (change_ref, field)
     )`,
  ],
};

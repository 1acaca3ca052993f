import type { Migration } from './migration.js';

/** Outbox, relay cursor, embedded log, consumer inbox: the tables of the spine. */
export const spine: Migration = {
  version: 1,
  name: 'spine',
  statements: (s) => [
    `CREATE TABLE ${s}.authorities (
       entity_type text PRIMARY KEY,
       context text NOT NULL,
       registered_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE ${s}.entity_versions (
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       version bigint NOT NULL,
       updated_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (entity_type, entity_id)
     )`,
    // One index only: the relay reads in (txid, position) order and nothing else looks rows up,
    // so every extra index would be paid by each business transaction.
    `CREATE TABLE ${s}.outbox (
       position bigserial NOT NULL,
       txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
       event_id uuid NOT NULL,
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       entity_version bigint NOT NULL,
       envelope jsonb NOT NULL,
       PRIMARY KEY (txid, position)
     )`,
    `CREATE TABLE ${s}.relay_checkpoints (
       relay text PRIMARY KEY,
       txid xid8 NOT NULL DEFAULT '0',
       position bigint NOT NULL DEFAULT 0,
       relayed bigint NOT NULL DEFAULT 0,
       owner text,
       lease_until timestamptz,
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE ${s}.log_meta (
       id boolean PRIMARY KEY DEFAULT true CHECK (id),
       partitions integer NOT NULL CHECK (partitions > 0)
     )`,
    `CREATE SEQUENCE ${s}.log_offset_seq`,
    `CREATE TABLE ${s}.log (
       partition integer NOT NULL,
       log_offset bigint NOT NULL,
       event_id uuid NOT NULL,
       partition_key text NOT NULL,
       envelope jsonb NOT NULL,
       appended_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       PRIMARY KEY (partition, log_offset)
     )`,
    `CREATE UNIQUE INDEX log_event_id ON ${s}.log (event_id)`,
    `CREATE TABLE ${s}.log_checkpoints (
       consumer_group text NOT NULL,
       partition integer NOT NULL,
       log_offset bigint NOT NULL DEFAULT 0,
       owner text,
       lease_until timestamptz,
       PRIMARY KEY (consumer_group, partition)
     )`,
    `CREATE TABLE ${s}.log_members (
       consumer_group text NOT NULL,
       member text NOT NULL,
       heartbeat_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (consumer_group, member)
     )`,
    `CREATE TABLE ${s}.inbox (
       consumer text NOT NULL,
       authority text NOT NULL,
       event_id uuid NOT NULL,
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       entity_version bigint NOT NULL,
       digest text NOT NULL,
       outcome text NOT NULL,
       received_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (consumer, authority, event_id)
     )`,
    `CREATE TABLE ${s}.consumer_entities (
       consumer text NOT NULL,
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       version bigint NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (consumer, entity_type, entity_id)
     )`,
    `CREATE TABLE ${s}.consumer_pending (
       consumer text NOT NULL,
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       entity_version bigint NOT NULL,
       envelope jsonb NOT NULL,
       received_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (consumer, entity_type, entity_id, entity_version)
     )`,
    // Events a consumer could not apply, with the reason. Per (consumer, partition key) they form
    // a queue in id order: the first unresolved one is the head ('open' or 'retry'), the rest
    // wait behind it ('parked'), so a key's order survives a poison message.
    `CREATE TABLE ${s}.dead_letters (
       id bigserial PRIMARY KEY,
       consumer text NOT NULL,
       authority text NOT NULL,
       event_id text NOT NULL,
       entity_type text,
       entity_id text,
       entity_version bigint,
       partition_key text,
       envelope jsonb NOT NULL,
       original_envelope jsonb,
       digest text NOT NULL,
       status text NOT NULL CHECK (status IN ('open', 'retry', 'parked', 'resolved', 'skipped')),
       code text NOT NULL,
       reason text NOT NULL,
       stack text,
       attempts integer NOT NULL DEFAULT 0,
       created_at timestamptz NOT NULL DEFAULT now(),
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE INDEX dead_letters_queue ON ${s}.dead_letters (consumer, partition_key, id)
       WHERE status IN ('open', 'retry', 'parked')`,
    // A redelivered event must not queue twice.
    `CREATE UNIQUE INDEX dead_letters_active_event ON ${s}.dead_letters (consumer, authority, event_id)
       WHERE status IN ('open', 'retry', 'parked')`,
    `CREATE TABLE ${s}.operator_audit (
       id bigserial PRIMARY KEY,
       at timestamptz NOT NULL DEFAULT now(),
       actor text NOT NULL,
       action text NOT NULL,
       target text NOT NULL,
       reason text NOT NULL,
       details jsonb NOT NULL DEFAULT '{}'::jsonb
     )`,
  ],
};

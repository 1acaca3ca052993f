import type { Migration } from './migration.js';

/**
 * The maturity ledger. `ledger_stages` holds the stages a context records in the same local
 * transaction as the work they describe (a consumer's apply, a reconciliation), and the stages
 * other contexts report back over the backbone. The authority's own stages need no rows:
 * `accepted` is the outbox row itself, `published` is the relay mark of the batch that moved
 * it (one row per batch, written with the checkpoint), so neither costs a write per event.
 */
export const ledger: Migration = {
  version: 4,
  name: 'ledger',
  statements: (s) => [
    `CREATE TABLE ${s}.ledger_stages (
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       entity_version bigint NOT NULL,
       context text NOT NULL,
       stage text NOT NULL,
       at timestamptz NOT NULL DEFAULT now(),
       authority text NOT NULL,
       event_id uuid,
       event_time timestamptz,
       effective_time timestamptz,
       correlation_id text,
       causation_id text,
       detail jsonb NOT NULL DEFAULT '{}'::jsonb,
       PRIMARY KEY (entity_type, entity_id, entity_version, context, stage)
     )`,
    `CREATE INDEX ledger_stages_recent ON ${s}.ledger_stages (at)`,
    // An entity's accepted versions are read from the outbox by entity.
    `CREATE INDEX outbox_entity ON ${s}.outbox (entity_type, entity_id)`,
    `CREATE TABLE ${s}.relay_marks (
       relay text NOT NULL,
       txid xid8 NOT NULL,
       position bigint NOT NULL,
       events integer NOT NULL,
       published_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (txid, position, relay)
     )`,
  ],
};

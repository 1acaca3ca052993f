import type { Migration } from './migration.js';

/**
 * The schema registry: JSON Schemas per event type and version, and each type's
 * compatibility mode. A registered version is never updated (the registry refuses to), so
 * readers may cache rows forever; `digest` (SHA-256 of the canonical JSON) makes re-registering
 * the same schema a cheap no-op.
 */
export const schemaRegistry: Migration = {
  version: 2,
  name: 'schema_registry',
  statements: (s) => [
    `CREATE TABLE ${s}.event_schema_types (
       event_type text PRIMARY KEY,
       compatibility text NOT NULL CHECK (compatibility IN ('BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD',
         'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE', 'NONE')),
       updated_at timestamptz NOT NULL DEFAULT now()
     )`,
    `CREATE TABLE ${s}.event_schemas (
       event_type text NOT NULL REFERENCES ${s}.event_schema_types (event_type),
       version integer NOT NULL CHECK (version >= 1),
       schema jsonb NOT NULL,
       digest text NOT NULL,
       registered_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (event_type, version)
     )`,
  ],
};

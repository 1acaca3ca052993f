import type { Migration } from './migration.js';

/**
 * The claim-check store: event payloads too large to travel in the envelope, stored once in
 * the producer's transaction. The envelope carries `claimcheck` (the row's id) and
 * `claimdigest`; consumers fetch the payload and verify the digest. `expires_at` is the
 * retention policy: rows past it are purged, so it must outlast the longest replay horizon.
 */
export const claimCheck: Migration = {
  version: 8,
  name: 'claim_check',
  statements: (s) => [
    `CREATE TABLE ${s}.claim_checks (
       claim_id uuid PRIMARY KEY,
       event_type text NOT NULL,
       entity_type text NOT NULL,
       entity_id text NOT NULL,
       digest text NOT NULL,
       size_bytes integer NOT NULL CHECK (size_bytes >= 0),
       payload jsonb NOT NULL,
       created_at timestamptz NOT NULL DEFAULT now(),
       expires_at timestamptz
     )`,
    `CREATE INDEX claim_checks_expiry ON ${s}.claim_checks (expires_at) WHERE expires_at IS NOT NULL`,
  ],
};

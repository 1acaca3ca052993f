import type { Migration } from './migration.js';

/**
 * Operations an operator asks for and a running consumer carries out (it has the handlers):
 * replay now, rebuild and bootstrap later. Progress is written back so the CLI can show it.
 */
export const operations: Migration = {
  version: 3,
  name: 'operations',
  statements: (s) => [
    `CREATE TABLE ${s}.operation_requests (
       id bigserial PRIMARY KEY,
       consumer text NOT NULL,
       kind text NOT NULL,
       params jsonb NOT NULL DEFAULT '{}'::jsonb,
       status text NOT NULL DEFAULT 'pending'
         CHECK (status IN ('pending', 'running', 'done', 'failed')),
       requested_by text NOT NULL,
       reason text NOT NULL,
       requested_at timestamptz NOT NULL DEFAULT now(),
       runner text,
       started_at timestamptz,
       finished_at timestamptz,
       done bigint NOT NULL DEFAULT 0,
       total bigint,
       result jsonb,
       error text
     )`,
    `CREATE INDEX operation_requests_pending ON ${s}.operation_requests (consumer, id) WHERE status = 'pending'`,
  ],
};

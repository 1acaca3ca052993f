import type { Migration } from './migration.js';
import { spine } from './001_spine.js';
import { schemaRegistry } from './002_schema_registry.js';
import { operations } from './003_operations.js';
import { ledger } from './004_ledger.js';
import { reconcile } from './005_reconcile.js';
import { cdc } from './006_cdc.js';
import { claimCheck } from './008_claim_check.js';

export type { Migration } from './migration.js';

/** All migrations, oldest first. Append only: a released migration is never edited. */
export const migrations: readonly Migration[] = [
  spine,
  schemaRegistry,
  operations,
  ledger,
  reconcile,
  cdc,
  claimCheck,
];

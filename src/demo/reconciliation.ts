import type { ApplyContext } from '../consumer/types.js';
import type { Consumer } from '../consumer/types.js';
import { recordStages } from '../ledger/record.js';
import type { LedgerStage } from '../ledger/stages.js';
import type { PullClient } from '../pull/client.js';
import {
  authorityDigests,
  createReconciler,
  pullSource,
  rebuildDigests,
  replicaDigests,
  type AuthorityDigests,
  type DriftClass,
  type ReplicaDigests,
  type RunReport,
} from '../reconcile/index.js';
import type { Db, Sql } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import type { Topology } from '../topology/model.js';
import { contexts } from './estate.js';

/** The starter topology's flow from Customer Profile to Billing: the copy the demo reconciles. */
export const billingFlow = 'customer-to-billing';
/** What Billing may hold of a customer, and so what both sides digest. */
const billingFields = ['name', 'address'] as const;

export interface BillingDigests {
  readonly authority: AuthorityDigests;
  readonly replica: ReplicaDigests;
}

/**
 * Digests on both sides of the Billing flow. The authority's are recorded next to each
 * `producer.append`; Billing's by wrapping its handler. Billing records its ledger stages in the
 * authority's ledger (embedded estate), so repairs mark `reconciled` there too.
 */
export function billingDigests(schemas: { profile: string; billing: string }): BillingDigests {
  return {
    authority: authorityDigests({
      schema: schemas.profile,
      entityType: 'customer',
      context: contexts.profile,
      flows: [{ flow: billingFlow, fields: billingFields }],
    }),
    replica: replicaDigests({
      schema: schemas.billing,
      ledgerSchema: schemas.profile,
      flow: billingFlow,
      entityType: 'customer',
      consumer: contexts.billing,
      fields: billingFields,
      read: readBillingAccount,
    }),
  };
}

async function readBillingAccount(tx: Sql, id: string, context: ApplyContext) {
  const row = (
    await tx.query<{ name: string; address: string; version: string }>(
      `SELECT name, address, version FROM ${context.table('billing_accounts')} WHERE customer_id = $1`,
      [id],
    )
  ).rows[0];
  return row && { version: Number(row.version), state: { name: row.name, address: row.address } };
}

/** The drift the demo injects behind the runtime's back, as a bad restore or a hand edit would. */
export interface InjectedDrift {
  /** Billing account deleted from the table. */
  readonly deleted?: string;
  /** Billing account whose address was overwritten (same version, other content). */
  readonly altered?: string;
}

/**
 * Deletes one billing account and overwrites another's address straight in the table: no event,
 * no inbox, no digest sees it. The narrated customer is left alone so its story stays readable.
 */
export async function injectBillingDrift(
  db: Db,
  billingSchema: string,
  spare: string,
): Promise<InjectedDrift> {
  const accounts = `${quoteIdentifier(billingSchema)}.billing_accounts`;
  const ids = (
    await db.query<{ customer_id: string }>(
      `SELECT customer_id FROM ${accounts} WHERE customer_id <> $1 ORDER BY customer_id LIMIT 2`,
      [spare],
    )
  ).rows.map((r) => r.customer_id);
  const [deleted, altered] = ids;
  if (deleted) await db.query(`DELETE FROM ${accounts} WHERE customer_id = $1`, [deleted]);
  if (altered)
    await db.query(`UPDATE ${accounts} SET address = $2 WHERE customer_id = $1`, [
      altered,
      '1 Nowhere Lane, Atlantis',
    ]);
  return { ...(deleted ? { deleted } : {}), ...(altered ? { altered } : {}) };
}

export interface ReconciliationSummary {
  readonly flow: string;
  readonly drift: InjectedDrift;
  /** Differences per class the first run found. */
  readonly found: Readonly<Record<DriftClass, number>>;
  /** Findings repaired through Billing's consumer. */
  readonly repaired: number;
  /** Findings left for a person (exceptions) or that failed. */
  readonly unrepaired: number;
  /** Versions marked `reconciled` in the ledger. */
  readonly reconciled: number;
  /** Digest rows read by the first run (buckets, sub-buckets, rows, rechecks, confirmations). */
  readonly rowsRead: number;
  readonly bucketsDiffering: number;
  readonly durationMs: number;
  /** Differences the second run found: none once the repair took. */
  readonly foundAfterRepair: number;
}

export interface ReconcileBillingOptions {
  readonly db: Db;
  readonly schemas: { readonly profile: string; readonly billing: string };
  readonly topology: Topology;
  readonly digests: BillingDigests;
  readonly consumer: Consumer;
  readonly pullClient: PullClient;
  readonly drift: InjectedDrift;
}

const total = (found: Readonly<Record<DriftClass, number>>) =>
  Object.values(found).reduce((n, c) => n + c, 0);
const rowsReadOf = (report: RunReport) => Object.values(report.rowsRead).reduce((n, c) => n + c, 0);

/**
 * Reconciles Billing with Customer Profile: compares digests, repairs by pulling the authority's
 * current state through Billing's consumer (inbox, handler, ledger), then runs again to show
 * nothing is left.
 */
export async function reconcileBilling(options: ReconcileBillingOptions): Promise<ReconciliationSummary> {
  const { db, schemas, digests } = options;
  const started = Date.now();
  // The drift went around the digests, as any hand edit or restore does: rebuild Billing's
  // digests from what its table holds now (docs/reconcile.md, "Limits").
  const accounts = `${quoteIdentifier(schemas.billing)}.billing_accounts`;
  const rows = (
    await db.query<{ customer_id: string; name: string; address: string; version: string }>(
      `SELECT customer_id, name, address, version FROM ${accounts}`,
    )
  ).rows.map((r) => ({
    id: r.customer_id,
    version: Number(r.version),
    state: { name: r.name, address: r.address },
  }));
  await rebuildDigests(db, digests.replica, rows);

  const reconciler = createReconciler({
    flow: billingFlow,
    topology: options.topology,
    authority: { db, schema: schemas.profile },
    replica: { db, schema: schemas.billing },
    // The starter topology republishes; the demo repairs by pull so the repair lands in this
    // run instead of travelling the backbone and being confirmed by a later one.
    repair: 'rehydrate',
    source: pullSource(options.pullClient, 'customer'),
    consumer: options.consumer,
    // Traffic has stopped: nothing is on its way, so the recheck need not wait.
    settleMs: 0,
  });
  const first = await reconciler.run();
  const second = await reconciler.run();
  await forwardReconciledStages(db, schemas);
  const outcomes = first.outcomes;
  return {
    flow: billingFlow,
    drift: options.drift,
    found: first.found,
    repaired: (outcomes.repaired ?? 0) + (outcomes.tombstoned ?? 0),
    unrepaired: (outcomes.exception ?? 0) + (outcomes.failed ?? 0) + (outcomes.moving ?? 0),
    reconciled: first.reconciled + second.reconciled,
    rowsRead: rowsReadOf(first),
    bucketsDiffering: first.bucketsDiffering,
    durationMs: Date.now() - started,
    foundAfterRepair: total(second.found),
  };
}

/**
 * A run marks the rows that matched `reconciled` in the consumer's schema; this estate's Billing
 * keeps its stages in the authority's ledger, so the marks are carried there (as its reporting
 * sink would carry them across databases).
 */
async function forwardReconciledStages(db: Db, schemas: { profile: string; billing: string }) {
  const from = quoteIdentifier(schemas.billing);
  const marks = (
    await db.query<{
      entity_type: string;
      entity_id: string;
      entity_version: string;
      context: string;
      at: Date;
      authority: string;
      detail: Record<string, unknown>;
    }>(
      `SELECT entity_type, entity_id, entity_version, context, at, authority, detail
       FROM ${from}.ledger_stages WHERE stage = 'reconciled'`,
    )
  ).rows;
  for (let i = 0; i < marks.length; i += 500) {
    const chunk = marks.slice(i, i + 500);
    await db.transaction((tx) =>
      recordStages(
        tx,
        quoteIdentifier(schemas.profile),
        chunk.map((m) => ({
          entityType: m.entity_type,
          entityId: m.entity_id,
          version: Number(m.entity_version),
          context: m.context,
          stage: 'reconciled' satisfies LedgerStage,
          at: m.at,
          authority: m.authority,
          detail: m.detail,
        })),
      ),
    );
  }
}

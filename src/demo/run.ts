import type { Backbone } from '../backbone/backbone.js';
import { createPostgresLog } from '../backbone/postgres-log/index.js';
import { withFaults, type FaultCounts } from '../backbone/faults.js';
import { createConsumer } from '../consumer/consumer.js';
import type { Consumer, Outcome } from '../consumer/types.js';
import { createProducer } from '../producer/producer.js';
import { registerAuthority } from '../producer/authorities.js';
import { createRelay, type Relay } from '../relay/relay.js';
import type { Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { sleep } from '../util/wakeup.js';
import { compareCopies, percentile, type Comparison } from './compare.js';
import {
  billingHandler,
  billingTables,
  claimsHandler,
  communicationsHandler,
  communicationsTables,
  contexts,
  createBusinessTables,
  createContactsTable,
  customerReader,
  insuredTables,
  policyHandler,
  type Customer,
} from './estate.js';
import { runProfileBusiness } from './scenario.js';
import { localLedgerSink, reportingLedgerSink, stageReportType, type LedgerSink } from '../ledger/sink.js';
import { createLedgerCollector } from '../ledger/collector.js';
import { createPullClient } from '../pull/client.js';
import { startReadApi } from './read-api.js';
import { nextOccurrence } from '../ledger/calendar.js';
import type { Readiness } from '../ledger/types.js';
import { demoTopology } from './topology.js';
import { runStory, storyCustomer, tellStoryStep, type StoryStep } from './story.js';
import { reconciledHandler } from '../reconcile/index.js';
import { checkLegacySource, runLegacy, type LegacyReport } from './legacy.js';
import {
  billingDigests,
  injectBillingDrift,
  reconcileBilling,
  type ReconciliationSummary,
} from './reconciliation.js';

export interface DemoOptions {
  /** The database holding every context's schema (one per context, as if separate databases). */
  readonly db: Db;
  /** `embedded` (default) or `distributed`; only changes what the report says. */
  readonly mode?: 'embedded' | 'distributed';
  /**
   * Opens the backbone between the contexts. Default: the embedded postgres-log in Customer
   * Profile's schema. The demo closes it at the end.
   */
  readonly openBackbone?: (db: Db, authoritySchema: string) => Promise<Backbone>;
  readonly customers?: number;
  readonly addressChanges?: number;
  readonly seed?: number;
  /** Pause between independent changes (default 5 ms); 0 loads as fast as possible. */
  readonly pauseMs?: number;
  /** Inject duplicate deliveries, reordering and lost acknowledgements (default true). */
  readonly faults?: boolean;
  /** Give up waiting for convergence after this long (default 60 s). */
  readonly timeoutMs?: number;
  readonly onProgress?: (phase: string, done: number, total: number) => void;
  /**
   * Opens Communications' own database; the demo closes it at the end unless it is `db`. It may
   * return `db` itself only for server PostgreSQL: Communications fetches from Customer Profile
   * while its own transaction is open, which one PGlite connection cannot serve at once.
   */
  readonly openCommunicationsDb: () => Promise<Db>;
  /**
   * Also run the legacy policy admin, captured by CDC from this server PostgreSQL (wal_level
   * logical) into the new Policy context.
   */
  readonly legacy?: { readonly connectionString: string };
  /**
   * Called with the report while every relay and consumer still runs; the demo stops them
   * when it returns (`tidemark demo --serve` serves the dashboard until Ctrl-C here).
   */
  readonly serve?: (report: DemoReport, estate: RunningEstate) => Promise<void>;
  /** Told each step of the narrated customer's story as it happens. */
  readonly onStory?: (step: StoryStep) => void;
}

/** What still runs while `serve` is called, for a control plane to report on. */
export interface RunningEstate {
  /** Customer Profile's relay, in the demo's database. */
  readonly relay: Relay;
  /** Communications' relay of its ledger stages, in its own database. */
  readonly communicationsRelay: { readonly relay: Relay; readonly db: Db; readonly schema: string };
  readonly consumers: readonly Consumer[];
}

export interface ContextReport {
  readonly strategy: 'push-state' | 'push-domain' | 'notify-fetch';
  readonly applied: number;
  readonly duplicatesSkipped: number;
  readonly heldForOrder: number;
  readonly rejected: number;
  readonly maxLagMs: number;
  readonly p50LagMs: number;
  readonly p99LagMs: number;
  readonly matching: number;
  readonly total: number;
  readonly converged: boolean;
  readonly differences: Comparison['differences'];
}

export interface DemoReport {
  readonly mode: 'embedded' | 'distributed';
  readonly backbone: string;
  readonly customers: number;
  readonly changes: number;
  readonly events: number;
  readonly faults: FaultCounts;
  readonly contexts: Record<string, ContextReport>;
  readonly converged: boolean;
  readonly durationMs: number;
  /** One customer's address change followed through the estate, as the ledger told it. */
  readonly story: readonly StoryStep[];
  /** Every decision's final readiness for that customer's latest change. */
  readonly readiness: readonly Readiness[];
  /**
   * The drift injected into Billing after the traffic, what the convergence check saw of it, and
   * what reconciliation found and repaired.
   */
  readonly reconciliation: ReconciliationSummary & {
    /** Billing accounts the row-by-row convergence check found different before the repair. */
    readonly detectedByCheck: number;
  };
  /** The legacy policy admin's writes and what reached the new Policy context (`legacy` only). */
  readonly legacy?: LegacyReport;
  readonly example?: {
    readonly customer: string;
    readonly address: string;
    readonly version: number;
    readonly billingVersion: number;
    readonly communicationsVersion: number;
  };
}

/** Prefixed so a demo on a shared server never touches anyone else's schemas. */
export const demoSchemas = {
  profile: 'demo_profile',
  billing: 'demo_billing',
  policy: 'demo_policy',
  claims: 'demo_claims',
  comms: 'demo_communications',
} as const;
const schemas = demoSchemas;

const embeddedLog = (db: Db, schema: string): Promise<Backbone> =>
  createPostgresLog({
    db,
    schema,
    partitions: 8,
    timing: { heartbeatMs: 500, pollMs: 50, retryBaseMs: 5, retryMaxMs: 50 },
  });

class OutcomeTally {
  applied = 0;
  duplicates = 0;
  held = 0;
  rejected = 0;
  readonly lags: number[] = [];
  record = (outcome: Outcome): void => {
    if (outcome.kind === 'applied') {
      this.applied++;
      this.lags.push(outcome.lagMs ?? 0);
    } else if (outcome.kind === 'duplicate') this.duplicates++;
    else if (outcome.kind === 'held') this.held++;
    else if (outcome.kind === 'dead-lettered') this.rejected++;
  };
}

/** Runs the insurer estate embedded in one database and reports what propagated where. */
export async function runDemo(options: DemoOptions): Promise<DemoReport> {
  const started = Date.now();
  const { db } = options;
  const size = {
    customers: options.customers ?? 40,
    addressChanges: options.addressChanges ?? 160,
    seed: options.seed ?? 7,
    pauseMs: options.pauseMs ?? 5,
  };
  const progress = options.onProgress ?? (() => {});
  if (options.legacy) await checkLegacySource(options.legacy.connectionString);

  const { comms: commsSchema, ...sharedSchemas } = schemas;
  for (const schema of Object.values(sharedSchemas)) {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await migrate(db, schema);
  }
  await createBusinessTables(db, schemas);
  await registerAuthority(db, { entityType: 'customer', context: contexts.profile }, schemas.profile);
  const digests = billingDigests(schemas);
  await digests.authority.register(db);
  await digests.replica.register(db);

  // Everything started is stopped again in reverse order, also when the demo fails half-way
  // (a process left with running loops and servers would never exit).
  const teardown: (() => Promise<unknown> | unknown)[] = [];
  try {
    // Opened first: an unreachable backbone fails the demo before anything else is started.
    const log = await (options.openBackbone ?? embeddedLog)(db, schemas.profile);
    teardown.push(() => log.close());

    // Communications lives in a database of its own: it learns of changes from thin notices,
    // fetches the state from Customer Profile's read API, and reports its ledger stages back
    // through its own outbox, relay and log to the authority's collector.
    const commsDb = await options.openCommunicationsDb();
    if (commsDb !== db) teardown.push(() => commsDb.close());
    await commsDb.query(`DROP SCHEMA IF EXISTS "${commsSchema}" CASCADE`);
    await migrate(commsDb, commsSchema);
    await createContactsTable(commsDb, commsSchema);
    await registerAuthority(
      commsDb,
      { entityType: stageReportType, context: contexts.communications },
      commsSchema,
    );
    const readApi = await startReadApi({ customer: customerReader(db, schemas.profile) });
    teardown.push(() => readApi.close());
    const pullClient = createPullClient({
      baseUrl: readApi.baseUrl,
      consumer: contexts.communications,
      timeoutMs: 2_000,
    });
    teardown.push(() => pullClient.close());
    // Reconciliation repairs Billing by pulling the authority's current state.
    const billingPullClient = createPullClient({
      baseUrl: readApi.baseUrl,
      consumer: contexts.billing,
      timeoutMs: 2_000,
    });
    teardown.push(() => billingPullClient.close());
    const commsLog = await embeddedLog(commsDb, commsSchema);
    teardown.push(() => commsLog.close());
    const commsRelay = createRelay({ db: commsDb, backbone: commsLog, schema: commsSchema, pollMs: 50 });
    teardown.push(() => commsRelay.stop());
    const collector = createLedgerCollector({
      db,
      schema: schemas.profile,
      backbone: commsLog,
      name: `ledger-from-${contexts.communications}`,
    });
    teardown.push(() => collector.stop());

    const backbone =
      options.faults === false
        ? withFaults(log, { seed: size.seed })
        : withFaults(log, {
            seed: size.seed,
            duplicateRate: 0.15,
            reorderRate: 0.5,
            crashBeforeAckRate: 0.1,
          });
    const relay = createRelay({ db, backbone: log, schema: schemas.profile, pollMs: 50 });
    teardown.push(() => relay.stop());
    const billingTally = new OutcomeTally();
    const policyTally = new OutcomeTally();
    const claimsTally = new OutcomeTally();
    const commsTally = new OutcomeTally();
    // Embedded, every context's schema is in one database: each records its stages straight into
    // the authority's ledger in its apply transaction. Across databases a context would use a
    // reporting sink, and its stages would travel back over the backbone (docs/ledger.md).
    const ledgerOf = (context: string) => localLedgerSink({ context, schema: schemas.profile });
    const topology = demoTopology();
    const consumer = (
      context: string,
      schema: string,
      handler: Parameters<typeof createConsumer>[0]['handlers'][string],
      tables: readonly string[],
      tally: OutcomeTally,
      own?: { db: Db; ledger: LedgerSink },
    ) =>
      createConsumer({
        name: context,
        db: own?.db ?? db,
        backbone,
        schema,
        handlers: { customer: handler },
        projection: { tables },
        ledger: own?.ledger ?? ledgerOf(context),
        onOutcome: tally.record,
      });
    const consumers = {
      billing: consumer(
        contexts.billing,
        schemas.billing,
        reconciledHandler(
          billingHandler((after) => nextOccurrence(topology, 'next-billing-cycle', after)),
          digests.replica,
        ),
        billingTables,
        billingTally,
      ),
      policy: consumer(contexts.policy, schemas.policy, policyHandler(), insuredTables, policyTally),
      claims: consumer(
        contexts.claims,
        schemas.claims,
        claimsHandler(schemas.claims),
        insuredTables,
        claimsTally,
      ),
      communications: consumer(
        contexts.communications,
        commsSchema,
        communicationsHandler(pullClient),
        communicationsTables,
        commsTally,
        {
          db: commsDb,
          ledger: reportingLedgerSink({
            context: contexts.communications,
            schema: commsSchema,
            producer: createProducer({ context: contexts.communications, schema: commsSchema }),
          }),
        },
      ),
    };

    teardown.push(async () => {
      for (const c of Object.values(consumers)) await c.stop();
    });
    relay.start();
    commsRelay.start();
    await collector.start();
    for (const c of Object.values(consumers)) await c.start();

    const producer = createProducer({ context: contexts.profile, schema: schemas.profile });
    const totalChanges = size.customers + size.addressChanges;
    let done = 0;
    const changes = await runProfileBusiness(
      db,
      schemas.profile,
      producer,
      size,
      () => progress('changes accepted by Customer Profile', ++done, totalChanges),
      digests.authority.record,
    );

    const compare = async () => {
      const authority = (
        await db.query<Customer>(`SELECT id, name, address, version FROM "${schemas.profile}".customers`)
      ).rows;
      const billing = (
        await db.query<Customer>(
          `SELECT customer_id AS id, name, address, version FROM "${schemas.billing}".billing_accounts`,
        )
      ).rows;
      const comms = (
        await commsDb.query<Customer>(
          `SELECT customer_id AS id, name, address, version FROM "${commsSchema}".contacts`,
        )
      ).rows;
      const insured = async (schema: string) =>
        (
          await db.query<Pick<Customer, 'id' | 'address' | 'version'>>(
            `SELECT customer_id AS id, address, version FROM "${schema}".insured_parties`,
          )
        ).rows;
      return {
        billing: compareCopies(authority, billing, ['name', 'address', 'version']),
        policy: compareCopies(authority, await insured(schemas.policy), ['address', 'version']),
        claims: compareCopies(authority, await insured(schemas.claims), ['address', 'version']),
        communications: compareCopies(authority, comms, ['name', 'address', 'version']),
      };
    };
    const allMatch = (r: Awaited<ReturnType<typeof compare>>) =>
      Object.values(r).every((c) => c.matching === c.total && c.differences.length === 0);

    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let result = await compare();
    const waitForCopies = async () => {
      while (!allMatch(result) && Date.now() < deadline) {
        const matching = Object.values(result).reduce((n, c) => n + c.matching, 0);
        progress('waiting for consumers', matching, 4 * result.billing.total);
        await sleep(100);
        result = await compare();
      }
    };
    await waitForCopies();
    const told = await runStory({
      db,
      schemas,
      producer,
      topology,
      consumers,
      deadline,
      recordState: digests.authority.record,
      ...(options.onStory ? { onStep: options.onStory } : {}),
    });
    result = await compare();
    await waitForCopies();

    // A drifted replica: Billing's table loses an account and another is edited behind the
    // runtime's back. The convergence check sees it; reconciliation finds and repairs it.
    progress('drifting and reconciling billing', 0, 1);
    const drift = await injectBillingDrift(db, schemas.billing, storyCustomer);
    const drifted = await compare();
    const reconciliation = {
      ...(await reconcileBilling({
        db,
        schemas,
        topology,
        digests,
        consumer: consumers.billing,
        pullClient: billingPullClient,
        drift,
      })),
      detectedByCheck: drifted.billing.total - drifted.billing.matching,
    };
    const reconciledStep = await tellStoryStep(
      { db, schemas, topology, ...(options.onStory ? { onStep: options.onStory } : {}) },
      'Reconciliation compares Billing with the authority, repairs the accounts that drifted, and confirms the rest',
    );
    progress('drifting and reconciling billing', 1, 1);
    result = await compare();
    await waitForCopies();
    const legacy = options.legacy
      ? await runLegacy({
          db,
          connectionString: options.legacy.connectionString,
          deadline: Date.now() + (options.timeoutMs ?? 60_000),
          onProgress: progress,
        })
      : undefined;

    const events = Number(
      (await db.query<{ n: number }>(`SELECT count(*) AS n FROM "${schemas.profile}".outbox`)).rows[0]!.n,
    );
    const context = (
      strategy: ContextReport['strategy'],
      tally: OutcomeTally,
      comparison: Comparison,
    ): ContextReport => ({
      strategy,
      applied: tally.applied,
      duplicatesSkipped: tally.duplicates,
      heldForOrder: tally.held,
      rejected: tally.rejected,
      maxLagMs: Math.max(0, ...tally.lags),
      p50LagMs: percentile(tally.lags, 50),
      p99LagMs: percentile(tally.lags, 99),
      matching: comparison.matching,
      total: comparison.total,
      converged: comparison.matching === comparison.total && comparison.differences.length === 0,
      differences: comparison.differences,
    });
    const reports = {
      [contexts.billing]: context('push-state', billingTally, result.billing),
      [contexts.policy]: context('push-domain', policyTally, result.policy),
      [contexts.claims]: context('push-domain', claimsTally, result.claims),
      [contexts.communications]: context('notify-fetch', commsTally, result.communications),
    };
    const busiest = (
      await db.query<Customer & { billing_version: number }>(
        `SELECT c.id, c.address, c.version, b.version AS billing_version
       FROM "${schemas.profile}".customers c
       LEFT JOIN "${schemas.billing}".billing_accounts b ON b.customer_id = c.id
       ORDER BY c.version DESC, c.id LIMIT 1`,
      )
    ).rows[0];
    const fetched = busiest
      ? (
          await commsDb.query<{ version: number }>(
            `SELECT version FROM "${commsSchema}".contacts WHERE customer_id = $1`,
            [busiest.id],
          )
        ).rows[0]
      : undefined;
    const report: DemoReport = {
      mode: options.mode ?? 'embedded',
      backbone: log.name,
      customers: size.customers,
      changes,
      events,
      faults: { ...backbone.faults },
      contexts: reports,
      converged: Object.values(reports).every((r) => r.converged) && (legacy?.converged ?? true),
      durationMs: Date.now() - started,
      story: [...told.steps, reconciledStep.step],
      readiness: reconciledStep.readiness,
      reconciliation,
      ...(legacy ? { legacy } : {}),
      ...(busiest
        ? {
            example: {
              customer: busiest.id,
              address: busiest.address,
              version: Number(busiest.version),
              billingVersion: Number(busiest.billing_version ?? 0),
              communicationsVersion: Number(fetched?.version ?? 0),
            },
          }
        : {}),
    };
    // The estate is still running: `serve` keeps it so (dashboard, operator actions) until it returns.
    if (options.serve) {
      await options.serve(report, {
        relay,
        communicationsRelay: { relay: commsRelay, db: commsDb, schema: commsSchema },
        consumers: Object.values(consumers),
      });
    }
    return report;
  } finally {
    for (const stop of teardown.reverse()) {
      try {
        await stop();
      } catch {
        // Shutting down after a failure: the failure is what the caller needs to hear about.
      }
    }
  }
}

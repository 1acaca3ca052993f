import type { Backbone } from '../backbone/backbone.js';
import { createPostgresLog } from '../backbone/postgres-log/index.js';
import { withFaults, type FaultCounts } from '../backbone/faults.js';
import { createConsumer } from '../consumer/consumer.js';
import type { Consumer, Outcome } from '../consumer/types.js';
import { createProducer } from '../producer/producer.js';
import { registerAuthority } from '../producer/authorities.js';
import { createRelay } from '../relay/relay.js';
import type { Db } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { sleep } from '../util/wakeup.js';
import { compareCopies, percentile, type Comparison } from './compare.js';
import {
  billingHandler,
  billingTables,
  communicationsHandler,
  communicationsTables,
  contexts,
  createBusinessTables,
  type Customer,
} from './estate.js';
import { runProfileBusiness } from './scenario.js';

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
}

export interface ContextReport {
  readonly strategy: 'push-state' | 'push-domain';
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
  readonly example?: {
    readonly customer: string;
    readonly address: string;
    readonly version: number;
    readonly billingVersion: number;
    readonly communicationsVersion: number;
    readonly addressChangesSeen: number;
  };
}

/** Prefixed so a demo on a shared server never touches anyone else's schemas. */
export const demoSchemas = {
  profile: 'demo_profile',
  billing: 'demo_billing',
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

  for (const schema of Object.values(schemas)) {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await migrate(db, schema);
  }
  await createBusinessTables(db, schemas);
  await registerAuthority(db, { entityType: 'customer', context: contexts.profile }, schemas.profile);

  const log = await (options.openBackbone ?? embeddedLog)(db, schemas.profile);
  const backbone =
    options.faults === false
      ? withFaults(log, { seed: size.seed })
      : withFaults(log, { seed: size.seed, duplicateRate: 0.15, reorderRate: 0.5, crashBeforeAckRate: 0.1 });
  const relay = createRelay({ db, backbone: log, schema: schemas.profile, pollMs: 50 });
  const billingTally = new OutcomeTally();
  const commsTally = new OutcomeTally();
  const consumers: Consumer[] = [
    createConsumer({
      name: contexts.billing,
      db,
      backbone,
      schema: schemas.billing,
      handlers: { customer: billingHandler() },
      projection: { tables: billingTables },
      onOutcome: billingTally.record,
    }),
    createConsumer({
      name: contexts.communications,
      db,
      backbone,
      schema: schemas.comms,
      handlers: { customer: communicationsHandler() },
      projection: { tables: communicationsTables },
      onOutcome: commsTally.record,
    }),
  ];

  relay.start();
  for (const consumer of consumers) await consumer.start();

  const producer = createProducer({ context: contexts.profile, schema: schemas.profile });
  const totalChanges = size.customers + size.addressChanges;
  let done = 0;
  const changes = await runProfileBusiness(db, schemas.profile, producer, size, () =>
    progress('changes accepted by Customer Profile', ++done, totalChanges),
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
      await db.query<Customer>(
        `SELECT customer_id AS id, name, address, version FROM "${schemas.comms}".contacts`,
      )
    ).rows;
    return {
      billing: compareCopies(authority, billing, ['name', 'address', 'version']),
      communications: compareCopies(authority, comms, ['name', 'address', 'version']),
    };
  };

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let result = await compare();
  while (
    (result.billing.matching < result.billing.total ||
      result.communications.matching < result.communications.total) &&
    Date.now() < deadline
  ) {
    progress(
      'waiting for consumers',
      result.billing.matching + result.communications.matching,
      2 * result.billing.total,
    );
    await sleep(100);
    result = await compare();
  }
  for (const consumer of consumers) await consumer.stop();
  await relay.stop();
  await log.close();

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
    [contexts.communications]: context('push-domain', commsTally, result.communications),
  };
  const busiest = (
    await db.query<Customer & { billing_version: number; comms_version: number; address_changes: number }>(
      `SELECT c.id, c.address, c.version, b.version AS billing_version, m.version AS comms_version, m.address_changes
       FROM "${schemas.profile}".customers c
       LEFT JOIN "${schemas.billing}".billing_accounts b ON b.customer_id = c.id
       LEFT JOIN "${schemas.comms}".contacts m ON m.customer_id = c.id
       ORDER BY c.version DESC, c.id LIMIT 1`,
    )
  ).rows[0];
  return {
    mode: options.mode ?? 'embedded',
    backbone: log.name,
    customers: size.customers,
    changes,
    events,
    faults: { ...backbone.faults },
    contexts: reports,
    converged: Object.values(reports).every((r) => r.converged),
    durationMs: Date.now() - started,
    ...(busiest
      ? {
          example: {
            customer: busiest.id,
            address: busiest.address,
            version: Number(busiest.version),
            billingVersion: Number(busiest.billing_version ?? 0),
            communicationsVersion: Number(busiest.comms_version ?? 0),
            addressChangesSeen: Number(busiest.address_changes ?? 0),
          },
        }
      : {}),
  };
}

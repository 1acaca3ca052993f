import { createPostgresLog } from '../backbone/postgres-log/index.js';
import { createCapture, deadLetterConsumer, type RowChange, type Translator } from '../cdc/index.js';
import { createConsumer } from '../consumer/consumer.js';
import type { EntityHandler, Outcome } from '../consumer/types.js';
import { localLedgerSink } from '../ledger/sink.js';
import { registerAuthority } from '../producer/authorities.js';
import { createProducer } from '../producer/producer.js';
import { createRelay } from '../relay/relay.js';
import type { Db } from '../store/db.js';
import { quoteIdentifier } from '../store/identifier.js';
import { migrate } from '../store/migrate.js';
import { openPostgres } from '../store/pg/index.js';
import { sleep } from '../util/wakeup.js';
import pg from 'pg';
import { checkSourceReady } from '../cdc/source.js';
import { storyCustomer } from './story.js';

/**
 * The legacy policy admin: an old system with a wide `policies` table, status codes and no
 * outbox. Its writes reach the new estate through change data capture: logical replication,
 * an anti-corruption translator into typed policy events, the bridge's outbox, and a consumer in
 * the new Policy context.
 */
export const legacySchemas = {
  /** The legacy system's own tables, on server PostgreSQL. */
  source: 'demo_legacy_policy_admin',
  /** Tidemark's side of the bridge: the capture's checkpoint, outbox and log. */
  bridge: 'demo_policy_admin_bridge',
  /** The new Policy context, which keeps the policies it learns of. */
  policy: 'demo_policy',
} as const;

export const legacyCapture = 'demo_policy_admin';
export const legacyContext = 'policy-admin';
/** Policy's consumer of the legacy stream (its customer consumer is named `policy`). */
export const legacyConsumer = 'policy-migration';

/** The published language for policies: typed events, never a generic `PolicyUpdated`. */
export const policyEvents = {
  issued: 'PolicyIssued',
  riskAddressChanged: 'PolicyRiskAddressChanged',
  lapsed: 'PolicyLapsed',
  cancelled: 'PolicyCancelled',
  reinstated: 'PolicyReinstated',
} as const;

type PolicyStatus = 'in-force' | 'lapsed' | 'cancelled';
const statusCodes: Record<string, PolicyStatus> = { A: 'in-force', L: 'lapsed', C: 'cancelled' };
const statusEvents: Record<PolicyStatus, string> = {
  'in-force': policyEvents.reinstated,
  lapsed: policyEvents.lapsed,
  cancelled: policyEvents.cancelled,
};

export interface PolicyIssued {
  readonly policyNumber: string;
  readonly customerId: string;
  readonly riskAddress: string;
  readonly status: PolicyStatus;
  readonly annualPremium: number;
}

interface LegacyPolicyRow {
  readonly pol_no: string;
  readonly cust_no: string;
  readonly risk_addr1: string;
  readonly risk_pcode: string;
  readonly stat_cd: string;
  readonly prem_pence: number;
  readonly upd_user: string;
}

const riskAddress = (row: LegacyPolicyRow) => `${row.risk_addr1} ${row.risk_pcode}`.trim();
/** Legacy customer numbers `C-0007` are the new estate's `cust-0007`; `C-STORY` is the narrated customer. */
const customerId = (custNo: string) =>
  custNo === 'C-STORY' ? storyCustomer : `cust-${custNo.replace(/^C-/, '')}`;

function statusOf(code: string, pol: string): PolicyStatus {
  const status = statusCodes[code.trim()];
  if (!status)
    throw new Error(`policy ${pol} has status code '${code}', which the published language has no word for`);
  return status;
}

/**
 * The anti-corruption layer: a legacy row change becomes the domain event it means. Changes
 * that mean nothing to the new estate (who last touched the row) are filtered out; a status code
 * with no meaning is rejected to the dead letters.
 */
export function policyTranslator(onFiltered: (change: RowChange) => void): Translator {
  return {
    table: `${legacySchemas.source}.policies`,
    translate(change) {
      const row = change.after as LegacyPolicyRow | null;
      const before = change.before as LegacyPolicyRow | null;
      if (!row) throw new Error(`policy rows are never deleted in policy admin (got ${change.op})`);
      const entity = { type: 'policy', id: row.pol_no };
      if (change.op === 'insert' || change.op === 'snapshot' || !before) {
        const data: PolicyIssued = {
          policyNumber: row.pol_no,
          customerId: customerId(row.cust_no),
          riskAddress: riskAddress(row),
          status: statusOf(row.stat_cd, row.pol_no),
          annualPremium: Number(row.prem_pence) / 100,
        };
        return { entity, event: { kind: 'domain', type: policyEvents.issued, data } };
      }
      const events = [];
      if (riskAddress(row) !== riskAddress(before)) {
        events.push({
          kind: 'domain' as const,
          type: policyEvents.riskAddressChanged,
          data: { riskAddress: riskAddress(row), previous: riskAddress(before) },
        });
      }
      if (row.stat_cd !== before.stat_cd) {
        const status = statusOf(row.stat_cd, row.pol_no);
        events.push({ kind: 'domain' as const, type: statusEvents[status], data: { status } });
      }
      if (events.length === 0) {
        onFiltered(change);
        return undefined;
      }
      return { entity, event: events };
    },
  };
}

/** The new Policy context's copy of each policy, kept from the legacy stream's domain events. */
function policyHandler(): EntityHandler<Record<string, unknown>> {
  return {
    kinds: ['domain'],
    async apply(tx, event, context) {
      const policies = context.table('policies');
      const data = event.data!;
      if (event.type === policyEvents.issued) {
        const issued = data as unknown as PolicyIssued;
        await tx.query(
          `INSERT INTO ${policies} (policy_no, customer_id, risk_address, status, version) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (policy_no) DO UPDATE SET customer_id = $2, risk_address = $3, status = $4, version = $5`,
          [issued.policyNumber, issued.customerId, issued.riskAddress, issued.status, event.entityversion],
        );
      } else if (event.type === policyEvents.riskAddressChanged) {
        await tx.query(`UPDATE ${policies} SET risk_address = $2, version = $3 WHERE policy_no = $1`, [
          event.entityid,
          data.riskAddress,
          event.entityversion,
        ]);
      } else {
        await tx.query(`UPDATE ${policies} SET status = $2, version = $3 WHERE policy_no = $1`, [
          event.entityid,
          data.status,
          event.entityversion,
        ]);
      }
    },
  };
}

export interface LegacyReport {
  readonly capture: string;
  readonly slot: string;
  readonly table: string;
  /** Rows the legacy system held when the capture started (read by the initial snapshot). */
  readonly snapshotRows: number;
  /** Writes the legacy system made while the capture streamed. */
  readonly streamedWrites: number;
  /** Legacy changes the translator filtered out as meaningless to the new estate. */
  readonly filtered: number;
  /** Legacy changes the translator rejected, with the reason (in the bridge's dead letters). */
  readonly rejected: readonly string[];
  /** Domain events the new Policy context applied, per type. */
  readonly applied: Readonly<Record<string, number>>;
  /** Policies whose copy in the new Policy context equals what the legacy table means. */
  readonly matching: number;
  readonly total: number;
  readonly converged: boolean;
  /** The capture's replication slot was dropped at the end. */
  readonly slotDropped: boolean;
}

export interface LegacyOptions {
  /** The estate's database (the bridge and the new Policy context live here). */
  readonly db: Db;
  /** Server PostgreSQL with wal_level=logical that holds the legacy policy admin. */
  readonly connectionString: string;
  readonly deadline: number;
  readonly onProgress?: (phase: string, done: number, total: number) => void;
}

/** The legacy system's rows before the capture starts: the snapshot carries them. */
const seeded: readonly LegacyPolicyRow[] = [
  row('P-1001', 'C-0001', '45 Kirkgate', 'DH1 3AB', 'A', 41_250),
  row('P-1002', 'C-0002', '8 Mill Lane', 'YO1 7HH', 'A', 38_900),
  row('P-1003', 'C-STORY', '12 Harbour Road', 'EH6 6LU', 'A', 52_000),
];
function row(pol: string, cust: string, addr: string, pcode: string, stat: string, prem: number) {
  return {
    pol_no: pol,
    cust_no: cust,
    risk_addr1: addr,
    risk_pcode: pcode,
    stat_cd: stat,
    prem_pence: prem,
    upd_user: 'BATCH01',
  };
}

/**
 * What the legacy policy admin's users do while the capture streams, each a transaction of its
 * own: issue a policy, move a risk address, touch a row without changing anything that matters,
 * lapse a policy, write a status code nobody can read, then correct it.
 */
const legacyWrites = (t: string): readonly [string, readonly unknown[]][] => [
  [
    `INSERT INTO ${t} (pol_no, cust_no, risk_addr1, risk_pcode, stat_cd, prem_pence, upd_user)
     VALUES ('P-1004', 'C-0003', '19 Quay Side', 'BS1 4RN', 'A', 29900, 'JSMITH')`,
    [],
  ],
  [
    `UPDATE ${t} SET risk_addr1 = '3 Castle Wynd', risk_pcode = 'PH1 5AA', upd_user = 'JSMITH' WHERE pol_no = 'P-1003'`,
    [],
  ],
  [`UPDATE ${t} SET upd_user = 'AUDIT' WHERE pol_no = 'P-1001'`, []],
  [`UPDATE ${t} SET stat_cd = 'L', upd_user = 'BATCH02' WHERE pol_no = 'P-1002'`, []],
  [`UPDATE ${t} SET stat_cd = 'Z', upd_user = 'MIGR' WHERE pol_no = 'P-1004'`, []],
  [`UPDATE ${t} SET stat_cd = 'C', upd_user = 'JSMITH' WHERE pol_no = 'P-1004'`, []],
];

/**
 * Runs the legacy policy admin beside the estate: seeds its table, captures it (snapshot, then
 * streaming), makes legacy writes, waits until Policy holds what they mean, and always drops the
 * replication slot and publication at the end.
 */
/**
 * Refuses a legacy source that cannot be captured before the demo starts anything, so the user
 * hears of wal_level or a missing replication privilege at once, not after the main demo.
 */
export async function checkLegacySource(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString, application_name: 'tidemark-demo-legacy' });
  await client.connect();
  try {
    await checkSourceReady(client);
  } finally {
    await client.end();
  }
}

export async function runLegacy(options: LegacyOptions): Promise<LegacyReport> {
  const { db } = options;
  const progress = options.onProgress ?? (() => {});
  const source = await openPostgres({
    connectionString: options.connectionString,
    applicationName: 'tidemark-demo-legacy',
    max: 2,
  });
  const src = quoteIdentifier(legacySchemas.source);
  const table = `${src}.policies`;
  const bridge = legacySchemas.bridge;
  let filtered = 0;
  const applied: Record<string, number> = {};
  try {
    await source.query(`DROP SCHEMA IF EXISTS ${src} CASCADE`);
    await source.query(`CREATE SCHEMA ${src}`);
    // Wide, coded and keyed the old way: what the anti-corruption layer is for.
    await source.query(`CREATE TABLE ${table} (
      pol_no text PRIMARY KEY, cust_no text NOT NULL, risk_addr1 text NOT NULL, risk_pcode text NOT NULL,
      stat_cd char(1) NOT NULL, prem_pence integer NOT NULL, upd_user text NOT NULL)`);
    // Updates carry the old row too, so the translator can tell what changed.
    await source.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    for (const r of seeded) {
      await source.query(
        `INSERT INTO ${table} (pol_no, cust_no, risk_addr1, risk_pcode, stat_cd, prem_pence, upd_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [r.pol_no, r.cust_no, r.risk_addr1, r.risk_pcode, r.stat_cd, r.prem_pence, r.upd_user],
      );
    }

    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(bridge)} CASCADE`);
    await migrate(db, bridge);
    await registerAuthority(db, { entityType: 'policy', context: legacyContext }, bridge);
    await db.query(`CREATE TABLE IF NOT EXISTS ${quoteIdentifier(legacySchemas.policy)}.policies (
      policy_no text PRIMARY KEY, customer_id text NOT NULL, risk_address text NOT NULL,
      status text NOT NULL, version bigint NOT NULL)`);

    const capture = createCapture({
      name: legacyCapture,
      source: { connectionString: options.connectionString },
      sink: { db, schema: bridge, producer: createProducer({ context: legacyContext, schema: bridge }) },
      translators: [policyTranslator(() => filtered++)],
    });
    const log = await createPostgresLog({
      db,
      schema: bridge,
      partitions: 2,
      timing: { heartbeatMs: 500, pollMs: 50, retryBaseMs: 5, retryMaxMs: 50 },
    });
    const relay = createRelay({ db, backbone: log, schema: bridge, pollMs: 50 });
    const consumer = createConsumer({
      name: legacyConsumer,
      db,
      backbone: log,
      schema: legacySchemas.policy,
      handlers: { policy: policyHandler() },
      projection: { tables: ['policies'] },
      ledger: localLedgerSink({ context: legacyConsumer, schema: bridge }),
      onOutcome: (outcome: Outcome) => {
        if (outcome.kind === 'applied')
          applied[outcome.envelope.type] = (applied[outcome.envelope.type] ?? 0) + 1;
      },
    });
    let slotDropped = false;
    let compared = { matching: 0, total: 0 };
    try {
      // A slot left by an interrupted earlier run would replay that run's changes: start clean.
      await capture.reset();
      relay.start();
      await consumer.start();
      await capture.start();
      await capture.snapshotDone();
      const writes = legacyWrites(table);
      let done = 0;
      for (const [sql, params] of writes) {
        await source.query(sql, [...params]);
        progress('legacy policy admin writes', ++done, writes.length);
      }
      await capture.catchUp();
      compared = await comparePolicies(source, db, table);
      while (compared.matching < compared.total && Date.now() < options.deadline) {
        await sleep(100);
        compared = await comparePolicies(source, db, table);
      }
    } finally {
      await consumer.stop();
      await relay.stop();
      await log.close();
      await capture.stop().catch(() => undefined);
      // Never leave the slot behind: it would keep WAL on the server until the disk is full. A
      // failure here must not hide the error that brought us here; the check below reports it.
      await capture.reset().catch(() => undefined);
      const slot = await source.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1`, [
        `tidemark_${legacyCapture}`,
      ]);
      slotDropped = slot.rows.length === 0;
    }
    // A rejected change is a dead letter of the capture, in the same transaction as its checkpoint.
    const rejected = (
      await db.query<{ reason: string }>(
        `SELECT reason FROM ${quoteIdentifier(bridge)}.dead_letters WHERE consumer = $1 ORDER BY id`,
        [deadLetterConsumer(legacyCapture)],
      )
    ).rows.map((r) => r.reason);
    return {
      capture: legacyCapture,
      slot: `tidemark_${legacyCapture}`,
      table: `${legacySchemas.source}.policies`,
      snapshotRows: seeded.length,
      streamedWrites: legacyWrites(table).length,
      filtered,
      rejected,
      applied,
      ...compared,
      converged: compared.matching === compared.total,
      slotDropped,
    };
  } finally {
    await source.close();
  }
}

/** What each legacy row means in the published language, against the new Policy context's copy. */
async function comparePolicies(source: Db, db: Db, table: string) {
  const legacy = (await source.query<LegacyPolicyRow>(`SELECT * FROM ${table}`)).rows;
  const copies = new Map(
    (
      await db.query<{ policy_no: string; customer_id: string; risk_address: string; status: string }>(
        `SELECT policy_no, customer_id, risk_address, status FROM ${quoteIdentifier(legacySchemas.policy)}.policies`,
      )
    ).rows.map((r) => [r.policy_no, r]),
  );
  let matching = 0;
  for (const r of legacy) {
    const copy = copies.get(r.pol_no);
    if (
      copy &&
      copy.customer_id === customerId(r.cust_no) &&
      copy.risk_address === riskAddress(r) &&
      copy.status === statusCodes[r.stat_cd.trim()]
    )
      matching++;
  }
  return { matching, total: legacy.length };
}

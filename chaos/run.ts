import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { createNatsJetStream } from '../src/backbone/nats-jetstream/index.js';
import { registerAuthority } from '../src/producer/index.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/pg/index.js';
import type { Db } from '../src/store/db.js';
import { sleep } from '../src/util/wakeup.js';
import {
  accountBackboneBattery,
  controlPlaneBattery,
  injectBadInput,
  type BackboneBattery,
  type BadInputResult,
} from './bad-input.js';
import { OwnNatsServer, natsServerBinary } from './nats-server.js';
import type { ChaosOptions } from './options.js';
import { driftPoint, driftReplica, reconcileReplica, type ReplicaDrift } from './reconcile-hook.js';
import type { ChaosReport, FiredFault } from './report.js';
import { CONSUMERS, RELAYS, planFaults, type PlannedFault } from './schedule.js';
import { Supervisor } from './supervisor.js';
import { measureProgress, settled, verify, type InvariantResult } from './verify.js';
import { AUTHORITY_CONTEXT, ENTITY_TYPE, type ChaosWorkerConfig } from './workers/config.js';
import { ledgerDigests, projectorDigests, tableDefinitions } from './workers/projection.js';

/** Shorter than any restart gap, so duplicate publishes after it really reach the consumers. */
const DUPLICATE_WINDOW_MS = 1_000;

export interface RunHooks {
  /** Told about each step, for a progress line on a terminal. */
  readonly onStep?: (message: string) => void;
}

/**
 * One chaos run: its own schema on server PostgreSQL and its own nats-server, a producer,
 * 2 relays and 3 consumers as child processes, the seeded faults, then verification from the
 * outbox, the effect log and the DLQ. Everything it created is removed before it returns.
 */
export async function runChaos(options: ChaosOptions, hooks: RunHooks = {}): Promise<ChaosReport> {
  const step = hooks.onStep ?? (() => {});
  const plan = planFaults(options);
  const runId = randomUUID().replaceAll('-', '').slice(0, 10);
  const schema = `chaos_${runId}`;
  // Every worker connection carries this prefix; pg_terminate_backend matches nothing else.
  const workerApplicationName = `tidemark-chaos-${runId}-w`;
  const began = Date.now();
  const nats = new OwnNatsServer('chaos-nats');
  const supervisor = new Supervisor();
  let db: Db | undefined;
  try {
    await nats.start();
    db = await openPostgres({
      connectionString: options.postgres,
      max: 4,
      applicationName: `tidemark-chaos-${runId}-orchestrator`,
    });
    await migrate(db, schema);
    await registerAuthority(db, { entityType: ENTITY_TYPE, context: AUTHORITY_CONTEXT }, schema);
    await db.query(`CREATE TABLE "${schema}".effects (
      seq bigserial PRIMARY KEY, entity_id text NOT NULL, version bigint NOT NULL, event_id uuid NOT NULL,
      worker int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await db.query(`CREATE INDEX ON "${schema}".effects (event_id)`);
    // The authority's state and the projector's copy, each with its digests for reconciliation.
    for (const statement of tableDefinitions(schema)) await db.query(statement);
    await ledgerDigests(schema).register(db);
    await projectorDigests(schema).register(db);
    const natsConfig = {
      servers: nats.url,
      stream: `CHAOS_${runId}`,
      subjectPrefix: `chaos.${runId}`,
      partitions: options.partitions,
      duplicateWindowMs: DUPLICATE_WINDOW_MS,
    };
    // Created once here so the workers only ever find it, never race to create it.
    const creator = await createNatsJetStream({ ...natsConfig, leaseTtlMs: 3_000 });
    await creator.close();

    const base = (role: ChaosWorkerConfig['role'], seed: number): ChaosWorkerConfig => ({
      role,
      postgres: options.postgres,
      schema,
      applicationName: workerApplicationName,
      nats: natsConfig,
      seed,
    });
    supervisor.add('producer', 'producer.ts', () => ({
      ...base('producer', plan.producerSeed + supervisor.committed),
      producer: {
        events: options.events,
        startAt: supervisor.committed,
        keys: options.keys,
        rate: options.rate,
        poisonRate: options.poisonRate,
      },
    }));
    // Each incarnation of a worker gets its own seed, derived from the plan.
    const workerSeed = (slot: number, incarnation: number) =>
      plan.workerSeedBase + slot * 1_000 + incarnation;
    for (let i = 0; i < RELAYS; i++) {
      supervisor.add(`relay-${i}`, 'relay.ts', (incarnation) => ({
        ...base('relay', workerSeed(i, incarnation)),
        relay: { duplicatePublishRate: options.duplicatePublishRate },
      }));
    }
    for (let i = 0; i < CONSUMERS; i++) {
      supervisor.add(`consumer-${i}`, 'consumer.ts', (incarnation) => ({
        ...base('consumer', workerSeed(RELAYS + i, incarnation)),
        consumer: {
          duplicateDeliveryRate: options.duplicateDeliveryRate,
          reorderRate: options.reorderRate,
          redeliveryRate: options.redeliveryRate,
        },
      }));
    }
    step(`starting ${RELAYS} relays and ${CONSUMERS} consumers (schema ${schema}, nats ${nats.url})`);
    await Promise.all(
      supervisor
        .names()
        .filter((n) => n !== 'producer')
        .map((n) => supervisor.start(n)),
    );
    step(`producing ${options.events} events at ${options.rate} ev/s; ${plan.faults.length} faults planned`);
    const produceStarted = Date.now();
    await supervisor.start('producer');

    const fired: FiredFault[] = [];
    let lastFaultEnd = produceStarted;
    // Two more disturbances at seeded points: the replica's drift and the bad-input battery.
    const driftAt = driftPoint(options.seed, options.events);
    const badInputAt = driftPoint(options.seed + 1, options.events);
    let drift: ReplicaDrift | undefined;
    let battery: BackboneBattery | undefined;
    const extras = [
      {
        at: driftAt,
        done: () => drift !== undefined,
        run: async () => {
          drift = await driftReplica(db!, schema, {
            seed: options.seed,
            keys: options.keys,
            atEvent: driftAt,
          });
          step(
            `replica drift at event ${driftAt}: ${drift.deleted.length} rows deleted, ${drift.altered.length} altered`,
          );
        },
      },
      {
        at: badInputAt,
        done: () => battery !== undefined,
        run: async () => {
          battery = await injectBadInput(natsConfig);
          step(
            `bad input at event ${badInputAt}: ${battery.pending.length + battery.settled.length} messages`,
          );
        },
      },
    ].sort((a, b) => a.at - b.at);
    const extrasDue = async (before: number) => {
      for (const extra of extras) {
        if (extra.done() || extra.at > before) continue;
        await supervisor.progress(extra.at);
        await extra.run();
      }
    };
    for (const fault of plan.faults) {
      await extrasDue(fault.atEvent);
      await supervisor.progress(fault.atEvent);
      const firedAt = Date.now();
      const hit = await inject(fault, { supervisor, nats, db, schema, workerApplicationName });
      lastFaultEnd = Date.now();
      fired.push({ ...fault, firedAtMs: firedAt - began, hit });
      step(`fault ${fired.length}/${plan.faults.length}: ${fault.kind} at event ${fault.atEvent} (${hit})`);
    }
    await extrasDue(Number.POSITIVE_INFINITY);
    while (!supervisor.producerDone) await sleep(200);
    const producedAt = Date.now();
    const produceMs = producedAt - produceStarted;
    step(
      `produced ${supervisor.committed} events in ${(produceMs / 1000).toFixed(1)} s; waiting for convergence`,
    );

    let convergedAt: number | undefined;
    const deadline = Date.now() + options.convergeTimeoutMs;
    // Converged: every committed event accounted for, and nothing moved for a second since.
    let snapshot = '';
    let since = Date.now();
    while (Date.now() < deadline) {
      const progress = await measureProgress(db, schema);
      const now = JSON.stringify(progress);
      if (now !== snapshot) {
        snapshot = now;
        since = Date.now();
      } else if (settled(progress) && Date.now() - since >= 1_000) {
        convergedAt = since;
        break;
      }
      await sleep(500);
    }

    // Stop everything, then reconcile and look: nothing else can change the evidence meanwhile.
    await supervisor.stopAll();
    step('reconciling the drifted replica (one run)');
    const repairBackbone = await createNatsJetStream({ ...natsConfig, leaseTtlMs: 3_000 });
    const replicaDrift = await reconcileReplica({ db, schema, backbone: repairBackbone, drift }).finally(() =>
      repairBackbone.close(),
    );
    step('bad input against the control plane');
    const badInput = await badInputResult(db, schema, battery);
    const verification = await verify(db, schema);
    const crashes: InvariantResult = {
      name: 'no process died on its own',
      holds: supervisor.unexpectedExits.length === 0,
      violations: supervisor.unexpectedExits.length,
      detail: `${supervisor.unexpectedExits.length} unexpected exits (restarted by the supervisor)`,
    };
    const invariants = [...verification.invariants, crashes];
    const faults: Record<string, number> = {};
    for (const fault of fired) faults[fault.kind] = (faults[fault.kind] ?? 0) + 1;
    for (const [kind, count] of [...supervisor.injected].sort()) faults[kind] = count;
    if (drift) faults['drift-replica'] = drift.deleted.length + drift.altered.length;
    return {
      ok:
        invariants.every((i) => i.holds) &&
        convergedAt !== undefined &&
        replicaDrift.status === 'converged' &&
        badInput.status === 'accounted',
      seed: options.seed,
      workload: {
        events: options.events,
        keys: options.keys,
        rate: options.rate,
        poisonRate: options.poisonRate,
        partitions: options.partitions,
      },
      processes: { producers: 1, relays: RELAYS, consumers: CONSUMERS },
      faults,
      faultTimeline: fired,
      verification: { ...verification, invariants },
      replicaDrift,
      badInput,
      unexpectedExits: supervisor.unexpectedExits,
      timing: {
        durationMs: Date.now() - began,
        produceMs,
        convergeAfterLastFaultMs: convergedAt === undefined ? null : Math.max(0, convergedAt - lastFaultEnd),
        convergeAfterProduceMs: convergedAt === undefined ? null : convergedAt - producedAt,
        convergedWithinTimeout: convergedAt !== undefined,
      },
      machine: { cpus: cpus().length, node: process.version, nats: natsVersion() },
    };
  } finally {
    await supervisor.stopAll(2_000).catch(() => {});
    if (db && process.env.TIDEMARK_CHAOS_KEEP !== '1') {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    }
    await db?.close().catch(() => {});
    await nats.dispose();
  }
}

interface FaultTargets {
  readonly supervisor: Supervisor;
  readonly nats: OwnNatsServer;
  readonly db: Db;
  readonly schema: string;
  readonly workerApplicationName: string;
}

/** Fires one fault and waits until its victim is back; returns what it hit. */
async function inject(fault: PlannedFault, t: FaultTargets): Promise<string> {
  switch (fault.kind) {
    case 'kill-relay': {
      // The relay holding the cursor lease is the one mid-batch; killing the standby proves little.
      const owner = (
        await t.db.query<{ owner: string | null }>(
          `SELECT owner FROM "${t.schema}".relay_checkpoints WHERE relay = 'default'`,
        )
      ).rows[0]?.owner;
      const slot =
        [...Array(RELAYS).keys()]
          .map((i) => `relay-${i}`)
          .find((name) => owner?.includes(`-${t.supervisor.pid(name)}-`)) ?? 'relay-0';
      return killAndRestart(t.supervisor, slot, fault.downMs);
    }
    case 'kill-consumer':
      return killAndRestart(t.supervisor, `consumer-${fault.target ?? 0}`, fault.downMs);
    case 'restart-nats':
      await t.nats.stop('SIGTERM');
      await sleep(fault.downMs);
      await t.nats.start();
      return `nats-server down ${fault.downMs} ms`;
    case 'terminate-connections': {
      const r = await t.db.query<{ n: number }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
         WHERE application_name LIKE $1 AND pid <> pg_backend_pid()`,
        [`${t.workerApplicationName}-%`],
      );
      return `${Number(r.rows[0]!.n)} connections terminated`;
    }
  }
}

async function badInputResult(
  db: Db,
  schema: string,
  battery: BackboneBattery | undefined,
): Promise<BadInputResult> {
  const backbone = battery
    ? await accountBackboneBattery(db, schema, battery, AUTHORITY_CONTEXT)
    : { cases: [], stray: 0 };
  const cases = [...backbone.cases, ...(await controlPlaneBattery(db, schema))];
  const accounted = battery !== undefined && backbone.stray === 0 && cases.every((c) => c.accounted);
  return {
    status: accounted ? 'accounted' : battery ? 'unaccounted' : 'not-run',
    cases,
    strayDeadLetters: backbone.stray,
  };
}

async function killAndRestart(supervisor: Supervisor, slot: string, downMs: number): Promise<string> {
  const pid = await supervisor.kill(slot);
  await sleep(downMs);
  await supervisor.start(slot);
  return `${slot} pid ${pid ?? '(not running)'} SIGKILLed, down ${downMs} ms`;
}

function natsVersion(): string {
  try {
    return execFileSync(natsServerBinary, ['--version']).toString().trim();
  } catch {
    return 'unknown';
  }
}

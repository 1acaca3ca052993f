import { createNatsJetStream, type NatsJetStreamBackbone } from '../../src/backbone/nats-jetstream/index.js';
import { openPostgres } from '../../src/store/pg/index.js';
import type { Db } from '../../src/store/db.js';

/** Everything a chaos worker process needs, passed as JSON in TIDEMARK_CHAOS_WORKER. */
export interface ChaosWorkerConfig {
  readonly role: 'producer' | 'relay' | 'consumer';
  readonly postgres: string;
  readonly schema: string;
  /** Every connection of the run carries this prefix, so the orchestrator can terminate exactly those. */
  readonly applicationName: string;
  readonly nats: {
    readonly servers: string;
    readonly stream: string;
    readonly subjectPrefix: string;
    readonly partitions: number;
    readonly duplicateWindowMs: number;
  };
  readonly seed: number;
  readonly producer?: {
    readonly events: number;
    /** Events committed by earlier incarnations (a producer restarted after a crash goes on from there). */
    readonly startAt: number;
    readonly keys: number;
    readonly rate: number;
    readonly poisonRate: number;
  };
  readonly relay?: { readonly duplicatePublishRate: number };
  readonly consumer?: {
    readonly duplicateDeliveryRate: number;
    readonly reorderRate: number;
    readonly redeliveryRate: number;
  };
}

export const ENTITY_TYPE = 'account';
export const AUTHORITY_CONTEXT = 'ledger';
export const CONSUMER_GROUP = 'projector';
export const POISON_REASON = 'chaos poison payload: this event can never be applied';

export function readWorkerConfig(): ChaosWorkerConfig {
  const raw = process.env.TIDEMARK_CHAOS_WORKER;
  if (!raw) throw new Error('TIDEMARK_CHAOS_WORKER is not set; chaos workers are started by chaos/main.ts');
  return JSON.parse(raw) as ChaosWorkerConfig;
}

/**
 * A process manager restarts a service that cannot reach its dependencies yet; a worker
 * restarted while NATS is down (or its connections are being terminated) does the same here,
 * instead of counting as a crash.
 */
async function untilReachable<T>(open: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (attempt >= 60) throw error;
      say({ warning: `start-up: ${String(error)}; retrying` });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export function openWorkerDb(config: ChaosWorkerConfig, max: number): Promise<Db> {
  return untilReachable(() =>
    openPostgres({
      connectionString: config.postgres,
      max,
      applicationName: `${config.applicationName}-${config.role}-${process.pid}`,
    }),
  );
}

/** Short leases so work held by a killed process moves within a few seconds. */
export function openWorkerBackbone(config: ChaosWorkerConfig): Promise<NatsJetStreamBackbone> {
  return untilReachable(() =>
    createNatsJetStream({
      servers: config.nats.servers,
      stream: config.nats.stream,
      subjectPrefix: config.nats.subjectPrefix,
      partitions: config.nats.partitions,
      duplicateWindowMs: config.nats.duplicateWindowMs,
      leaseTtlMs: 3_000,
      heartbeatMs: 500,
      pollMs: 200,
      ackWaitMs: 10_000,
      retryMaxMs: 1_000,
      connectionName: `${config.applicationName}-${config.role}-${process.pid}`,
    }),
  );
}

/**
 * One JSON line to the orchestrator. Writes to a pipe are synchronous on Linux, so a line
 * written before a SIGKILL is not lost with the process.
 */
export function say(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ...message })}\n`);
}

/** Tells the orchestrator about injected faults as they happen. */
export function reportFault(kind: string, count = 1): void {
  if (count > 0) say({ fault: kind, count });
}

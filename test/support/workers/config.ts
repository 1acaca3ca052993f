import { openPostgres } from '../../../src/store/pg/index.js';
import { createPostgresLog } from '../../../src/backbone/postgres-log/index.js';
import { createNatsJetStream } from '../../../src/backbone/nats-jetstream/index.js';
import type { Backbone } from '../../../src/backbone/backbone.js';
import type { Db } from '../../../src/store/db.js';

/** What a worker process needs, passed as JSON in TIDEMARK_WORKER. */
export interface WorkerConfig {
  readonly postgres: string;
  readonly schema: string;
  readonly backbone:
    | { readonly kind: 'postgres-log'; readonly partitions: number }
    | {
        readonly kind: 'nats-jetstream';
        readonly servers: string;
        readonly stream: string;
        readonly subjectPrefix: string;
        readonly partitions: number;
      };
}

export function readConfig(): WorkerConfig {
  const raw = process.env.TIDEMARK_WORKER;
  if (!raw) throw new Error('TIDEMARK_WORKER is not set');
  return JSON.parse(raw) as WorkerConfig;
}

/** Short leases so a killed process's work moves within a few seconds. */
export async function openWorkerBackbone(config: WorkerConfig, db: Db): Promise<Backbone> {
  if (config.backbone.kind === 'postgres-log') {
    return createPostgresLog({
      db,
      schema: config.schema,
      partitions: config.backbone.partitions,
      timing: { leaseMs: 3_000, heartbeatMs: 500, pollMs: 50, retryBaseMs: 20, retryMaxMs: 500 },
    });
  }
  return createNatsJetStream({
    servers: config.backbone.servers,
    stream: config.backbone.stream,
    subjectPrefix: config.backbone.subjectPrefix,
    partitions: config.backbone.partitions,
    leaseTtlMs: 3_000,
    heartbeatMs: 500,
    pollMs: 200,
    ackWaitMs: 10_000,
  });
}

export async function openWorkerDb(config: WorkerConfig): Promise<Db> {
  return openPostgres({
    connectionString: config.postgres,
    max: 6,
    applicationName: `tidemark-worker-${process.pid}`,
  });
}

export function say(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ...message })}\n`);
}

import type { NatsConnection } from '@nats-io/transport-node';
import { optionChecks } from '../shared/options.js';

export interface NatsJetStreamOptions {
  /** Server address(es), e.g. `127.0.0.1:4222`. Required unless `connection` is given. */
  readonly servers?: string | readonly string[];
  /**
   * An open connection to use instead of opening one. The caller keeps ownership: `close()`
   * leaves it open.
   */
  readonly connection?: NatsConnection;
  /** JetStream stream holding the log (letters, digits, `_`, `-`). */
  readonly stream: string;
  /** Subject prefix; partition n is published on `<subjectPrefix>.p.<n>`. */
  readonly subjectPrefix: string;
  /** Partition count, fixed when the stream is created (default 16). */
  readonly partitions?: number;
  /**
   * Window in which a re-published event id (`Nats-Msg-Id`) is dropped as a duplicate
   * (default 2 min). Dedup outside it is the consumer inbox's job.
   */
  readonly duplicateWindowMs?: number;
  /** A delivered batch not acknowledged within this time is redelivered (default 30 s). */
  readonly ackWaitMs?: number;
  /**
   * Deliveries of one message before the server stops offering it to the group (default -1:
   * never). Keep it unlimited: the consumer runtime parks poison events in its own DLQ, while a
   * finite value makes the server skip the event for the group, which is then lost to it (unless
   * a later re-sync from the ack floor happens to replay it).
   */
  readonly maxDeliver?: number;
  /** `file` (default) survives a server restart; `memory` does not. */
  readonly storage?: 'file' | 'memory';
  /** Stream replicas in a cluster (default 1). */
  readonly replicas?: number;
  /** A member's partition leases and membership expire this long after its last heartbeat (default 10 s). */
  readonly leaseTtlMs?: number;
  /** How often members renew leases and rebalance (default a third of `leaseTtlMs`). */
  readonly heartbeatMs?: number;
  /** How long an idle partition waits on the server for a message before asking again (default 1 s). */
  readonly pollMs?: number;
  /** Backoff after a rejected batch (defaults 100 ms, capped at 10 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Per request: publish acknowledgement, ack confirmation, API calls (default 5 s). */
  readonly requestTimeoutMs?: number;
  /** Connection name shown by the server's monitoring (default `tidemark`). */
  readonly connectionName?: string;
}

export interface NatsJetStreamConfig {
  readonly servers: readonly string[];
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly partitions: number;
  readonly duplicateWindowMs: number;
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly storage: 'file' | 'memory';
  readonly replicas: number;
  readonly leaseTtlMs: number;
  readonly heartbeatMs: number;
  readonly pollMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly requestTimeoutMs: number;
  readonly connectionName: string;
}

// Stream and KV bucket names become API subject tokens and the lease bucket name.
const namePattern = /^[A-Za-z0-9_-]{1,48}$/;
const subjectPattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

const { invalid, integer, heartbeat } = optionChecks('nats-jetstream');

/** Applies defaults and checks every option once; the result is frozen. */
export function resolveOptions(options: NatsJetStreamOptions): NatsJetStreamConfig {
  const servers = options.servers === undefined ? [] : [options.servers].flat();
  if (servers.length === 0 && !options.connection) {
    invalid('servers', 'a server address such as "127.0.0.1:4222" (or pass connection)', options.servers);
  }
  if (!namePattern.test(options.stream)) {
    invalid('stream', '1 to 48 letters, digits, "_" or "-"', options.stream);
  }
  if (!subjectPattern.test(options.subjectPrefix)) {
    invalid('subjectPrefix', 'dot-separated tokens of letters, digits, "_" or "-"', options.subjectPrefix);
  }
  const leaseTtlMs = integer('leaseTtlMs', options.leaseTtlMs ?? 10_000, 500, 3_600_000);
  const heartbeatMs = heartbeat(
    options.heartbeatMs,
    'leaseTtlMs',
    leaseTtlMs,
    'one missed beat loses no lease',
  );
  const maxDeliver = options.maxDeliver ?? -1;
  if (maxDeliver !== -1) integer('maxDeliver', maxDeliver, 1, 1_000_000);
  const storage = options.storage ?? 'file';
  if (storage !== 'file' && storage !== 'memory') invalid('storage', '"file" or "memory"', storage);
  return Object.freeze({
    servers: Object.freeze([...servers]),
    stream: options.stream,
    subjectPrefix: options.subjectPrefix,
    partitions: integer('partitions', options.partitions ?? 16, 1, 4096),
    duplicateWindowMs: integer('duplicateWindowMs', options.duplicateWindowMs ?? 120_000, 100, 86_400_000),
    ackWaitMs: integer('ackWaitMs', options.ackWaitMs ?? 30_000, 500, 86_400_000),
    maxDeliver,
    storage,
    replicas: integer('replicas', options.replicas ?? 1, 1, 5),
    leaseTtlMs,
    heartbeatMs,
    pollMs: integer('pollMs', options.pollMs ?? 1_000, 50, 60_000),
    retryBaseMs: integer('retryBaseMs', options.retryBaseMs ?? 100, 1, 3_600_000),
    retryMaxMs: integer('retryMaxMs', options.retryMaxMs ?? 10_000, 1, 3_600_000),
    requestTimeoutMs: integer('requestTimeoutMs', options.requestTimeoutMs ?? 5_000, 100, 300_000),
    connectionName: options.connectionName ?? 'tidemark',
  });
}

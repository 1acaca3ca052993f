import type { Target } from '../lib/targets.js';

/** Sizes of one run on one database; chosen so a full run of both stays under ~3 minutes on 2 cores. */
export interface RelaySettings {
  /** Concurrent business clients, each on its own connection. */
  readonly clients: number;
  /** Measured seconds per transaction variant, split into rounds. */
  readonly txSeconds: number;
  /** Variants take turns in this many rounds, so a checkpoint or a burst of others' load hits all alike. */
  readonly txRounds: number;
  /** Unmeasured run per variant first: JIT, plan cache and buffer cache warm up. */
  readonly warmupSeconds: number;
  /** Pre-appended outbox rows the relay and the raw copy each move. */
  readonly events: number;
  /** Rows per transaction for both the relay and the raw copy. */
  readonly batchSize: number;
  /** Offered producer rate for the latency run, events per second. */
  readonly rate: number;
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  /** Distinct entities the latency producer cycles through. */
  readonly entities: number;
}

export function relaySettings(target: Target, quick: boolean): RelaySettings {
  const server = target.concurrent;
  const scale = quick ? 0.25 : 1;
  return {
    // PGlite serialises transactions, so more clients would only measure queueing.
    clients: server ? 4 : 1,
    txSeconds: (server ? 12 : 6) * scale,
    txRounds: server ? 6 : 3,
    warmupSeconds: quick ? 0.3 : 1,
    events: Math.round((server ? 50_000 : 10_000) * scale),
    batchSize: 1_000,
    rate: 1_000,
    latencySeconds: quick ? 3 : 10,
    latencyWarmupSeconds: quick ? 0.5 : 1,
    entities: 1_000,
  };
}

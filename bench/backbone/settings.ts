/** Sizes of one backbone run; chosen so a full run stays under ~3 minutes on 2 cores. */
export interface BackboneSettings {
  /** Pre-appended outbox events the relay drains into each backbone. */
  readonly events: number;
  /** Rows per relay batch. */
  readonly batchSize: number;
  /** Partitions of both backbones. */
  readonly partitions: number;
  /** Producer connections in the latency run. */
  readonly clients: number;
  /** Offered producer rate for the latency run, events per second. */
  readonly rate: number;
  readonly latencySeconds: number;
  readonly latencyWarmupSeconds: number;
  /** Distinct entities the producers cycle through. */
  readonly entities: number;
  /** Events already in the backbone that each consumer group applies. */
  readonly applyEvents: number;
  /** Consumer instances of one group, one run per count. */
  readonly instances: readonly number[];
}

export function backboneSettings(quick: boolean): BackboneSettings {
  return {
    events: quick ? 5_000 : 30_000,
    batchSize: 1_000,
    partitions: 12,
    clients: 4,
    rate: 1_000,
    latencySeconds: quick ? 3 : 10,
    latencyWarmupSeconds: quick ? 0.5 : 1,
    entities: 1_000,
    applyEvents: quick ? 2_000 : 10_000,
    instances: [1, 3],
  };
}

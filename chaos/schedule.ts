import { seededRandom } from '../src/util/random.js';
import type { ChaosOptions } from './options.js';

export const faultKinds = ['kill-relay', 'kill-consumer', 'restart-nats', 'terminate-connections'] as const;
export type FaultKind = (typeof faultKinds)[number];

/** One process or infrastructure fault, fired when the producer has committed `atEvent` events. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly atEvent: number;
  /** Which consumer (0–2) a kill-consumer hits; relays are hit where the cursor lease is. */
  readonly target?: number;
  /** How long the killed process or the NATS server stays down before it is started again. */
  readonly downMs: number;
}

/** Seeds of the in-process fault injectors; a restarted process gets the next one. */
export interface FaultPlan {
  readonly seed: number;
  readonly faults: readonly PlannedFault[];
  readonly producerSeed: number;
  readonly workerSeedBase: number;
}

export const RELAYS = 2;
export const CONSUMERS = 3;

/**
 * The whole fault schedule from the seed and the workload size alone, so a run can be repeated:
 * the same seed gives the same faults at the same points of the workload (the timing of
 * in-stream faults still depends on how batches happen to form).
 */
export function planFaults(options: Pick<ChaosOptions, 'seed' | 'events' | 'faults'>): FaultPlan {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  // Each kind at least once when there is room, in a seeded order; the rest at random.
  const kinds: FaultKind[] = [];
  const pool = [...faultKinds];
  while (kinds.length < options.faults && pool.length > 0) {
    kinds.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
  }
  while (kinds.length < options.faults) kinds.push(pick(faultKinds));
  // Between 5 % and 85 % of the workload: faults hit a pipeline that is busy, and the tail
  // shows convergence after the last one.
  const points = kinds
    .map(() => Math.max(1, Math.floor(options.events * (0.05 + random() * 0.8))))
    .sort((a, b) => a - b);
  const faults = kinds.map((kind, i): PlannedFault => {
    const downMs = 200 + Math.floor(random() * 1_800);
    return kind === 'kill-consumer'
      ? { kind, atEvent: points[i]!, target: Math.floor(random() * CONSUMERS), downMs }
      : { kind, atEvent: points[i]!, downMs };
  });
  return {
    seed: options.seed,
    faults,
    producerSeed: Math.floor(random() * 2 ** 31),
    workerSeedBase: Math.floor(random() * 2 ** 31),
  };
}

import type { Backbone, BackboneMessage, BatchHandler } from './backbone.js';
import { seededRandom } from '../util/random.js';

export interface FaultOptions {
  /** Seed for the fault schedule; the same seed injects the same faults for the same input. */
  readonly seed: number;
  /** Chance that a message is delivered twice in its batch. */
  readonly duplicateRate?: number;
  /** Chance that the messages of one key within a batch arrive in reverse order. */
  readonly reorderRate?: number;
  /** Chance that a batch fails after the handler ran, as if the process died before acknowledging. */
  readonly crashBeforeAckRate?: number;
}

export interface FaultCounts {
  duplicated: number;
  reordered: number;
  crashedBeforeAck: number;
}

export interface FaultyBackbone extends Backbone {
  readonly faults: Readonly<FaultCounts>;
}

/** Thrown by the fault injector; the backbone treats it like any failed batch and redelivers. */
export class InjectedCrash extends Error {
  constructor() {
    super('injected fault: consumer crashed before acknowledging the batch');
    this.name = 'InjectedCrash';
  }
}

/**
 * Wraps a real backbone and disturbs what its subscribers receive: duplicate deliveries,
 * reordered messages and lost acknowledgements. For demos and fault tests; it proves that
 * consumers keep their guarantees, it is not a transport.
 */
export function withFaults(backbone: Backbone, options: FaultOptions): FaultyBackbone {
  const random = seededRandom(options.seed);
  const counts: FaultCounts = { duplicated: 0, reordered: 0, crashedBeforeAck: 0 };

  function disturb(messages: readonly BackboneMessage[]): BackboneMessage[] {
    const list: BackboneMessage[] = [];
    for (const message of messages) {
      list.push(message);
      if (random() < (options.duplicateRate ?? 0)) {
        list.push(message);
        counts.duplicated++;
      }
    }
    // Reverse the messages of some keys: the consumer then sees later versions first.
    const slots = new Map<string, number[]>();
    list.forEach((message, i) => {
      const key = message.envelope.partitionkey;
      slots.set(key, [...(slots.get(key) ?? []), i]);
    });
    const reordered = [...list];
    for (const indexes of slots.values()) {
      const versions = new Set(indexes.map((i) => list[i]!.envelope.entityversion));
      if (versions.size < 2 || random() >= (options.reorderRate ?? 0)) continue;
      indexes.forEach((slot, k) => {
        reordered[slot] = list[indexes[indexes.length - 1 - k]!]!;
      });
      counts.reordered++;
    }
    return reordered;
  }

  return {
    ...backbone,
    faults: counts,
    publish: (batch, publishOptions) => backbone.publish(batch, publishOptions),
    subscribe(group, handler: BatchHandler, subscribeOptions) {
      return backbone.subscribe(
        group,
        async (messages, partition) => {
          await handler(disturb(messages), partition);
          if (messages[0]?.deliveryAttempt === 1 && random() < (options.crashBeforeAckRate ?? 0)) {
            counts.crashedBeforeAck++;
            throw new InjectedCrash();
          }
        },
        subscribeOptions,
      );
    },
    close: () => backbone.close(),
  };
}

import type { BackboneMessage, BatchHandler } from '../backbone/backbone.js';
import { createEnvelope } from '../envelope/create.js';
import type { Envelope } from '../envelope/types.js';

/** Helpers the backbone contract suite builds its scenarios from. */

/**
 * `versions` events for each of `keys` entities, as one list per version round: round r holds
 * version r+1 of every key. Publishing the rounds one after another keeps per-key publish order.
 */
export function workload(keys: number, versions: number, tag = 'item'): Envelope[][] {
  const rounds: Envelope[][] = [];
  for (let v = 1; v <= versions; v++) {
    const round: Envelope[] = [];
    for (let k = 0; k < keys; k++) {
      round.push(
        createEnvelope({
          kind: 'state',
          authority: 'contract',
          entityType: tag,
          entityId: `k${k}`,
          entityVersion: v,
          data: { value: `${tag}-${k}-${v}` },
        }),
      );
    }
    rounds.push(round);
  }
  return rounds;
}

export interface DeliveryRecord {
  readonly message: BackboneMessage;
  /** The `partition` argument the handler was called with. */
  readonly handlerPartition: number;
  /** Which subscription (member) handled it, as named by the recorder's caller. */
  readonly member: string;
  /** Index of the handler call that carried it. */
  readonly call: number;
}

/** Collects what handlers receive, so assertions can run over every delivery afterwards. */
export interface Recorder {
  readonly deliveries: DeliveryRecord[];
  /** Wraps `inner` so that each batch is recorded before `inner` decides its fate. */
  handler(member: string, inner?: BatchHandler): BatchHandler;
  envelopes(member?: string): Envelope[];
  distinctIds(member?: string): Set<string>;
}

export function createRecorder(): Recorder {
  const deliveries: DeliveryRecord[] = [];
  let calls = 0;
  const pick = (member?: string) =>
    member === undefined ? deliveries : deliveries.filter((d) => d.member === member);
  return {
    deliveries,
    handler(member, inner) {
      return async (messages, partition) => {
        const call = calls++;
        for (const message of messages)
          deliveries.push({ message, handlerPartition: partition, member, call });
        if (inner) await inner(messages, partition);
      };
    },
    envelopes: (member) => pick(member).map((d) => d.message.envelope),
    distinctIds: (member) => new Set(pick(member).map((d) => d.message.envelope.id)),
  };
}

/** A promise a test opens (or fails) from outside, to hold a handler at a chosen point. */
export interface Gate {
  readonly wait: Promise<void>;
  open(): void;
  fail(error: Error): void;
}

export function createGate(): Gate {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const wait = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  // A gate nobody waits on must not surface as an unhandled rejection.
  wait.catch(() => {});
  return { wait, open, fail };
}

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

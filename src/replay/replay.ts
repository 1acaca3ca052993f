import type { Backbone, HistoryQuery } from '../backbone/backbone.js';
import type { Consumer, OutcomeKind } from '../consumer/types.js';
import { TidemarkError } from '../errors.js';

export interface ReplayProgress {
  readonly done: number;
  readonly total: number;
}

export interface ReplayOptions {
  readonly consumer: Consumer;
  readonly backbone: Backbone;
  readonly query: HistoryQuery;
  readonly onProgress?: (progress: ReplayProgress) => void;
  readonly signal?: AbortSignal;
}

export type ReplayResult = { readonly delivered: number; readonly total: number } & Readonly<
  Record<OutcomeKind, number>
>;

/**
 * Delivers a slice of history to one consumer again, through its normal path (inbox, apply
 * rules, dead letters), so events it already has change nothing and missing ones apply in
 * order.
 */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const { consumer, backbone } = options;
  if (!backbone.history) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `the ${backbone.name} backbone keeps no history to replay; replay from a backbone that does (postgres-log)`,
      { context: { backbone: backbone.name } },
    );
  }
  const history = await backbone.history(options.query);
  const counts: Record<OutcomeKind, number> = {
    applied: 0,
    duplicate: 0,
    held: 0,
    ignored: 0,
    'dead-lettered': 0,
    parked: 0,
  };
  let delivered = 0;
  for await (const batch of history.batches()) {
    for (const message of batch) {
      if (options.signal?.aborted) {
        throw new TidemarkError('TM_CLOSED', `replay stopped after ${delivered} of ${history.total} events`, {
          context: { delivered, total: history.total },
        });
      }
      for (const outcome of await consumer.handle(message.envelope)) counts[outcome.kind]++;
      delivered++;
    }
    options.onProgress?.({ done: delivered, total: history.total });
  }
  return { delivered, total: history.total, ...counts };
}

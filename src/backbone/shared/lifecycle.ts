import type { Backbone, PublishOptions, Subscription } from '../backbone.js';
import type { Envelope } from '../../envelope/types.js';
import { TidemarkError } from '../../errors.js';

export interface AdapterLifecycle {
  /** Throws TM_CLOSED once the adapter is closed. */
  ensureOpen(operation: string): void;
  /** Remembers a subscription so close and destroy stop it. */
  track(subscription: Subscription): void;
  /** Forgets a subscription that stopped on its own. */
  forget(subscription: Subscription): void;
  stopAll(): Promise<void>;
  /**
   * `Backbone.publish` around the broker's own `publishBatch`: refused once closed or inside a
   * database transaction; an empty batch does nothing.
   */
  publisher(publishBatch: (batch: readonly Envelope[]) => Promise<void>): Backbone['publish'];
  /** Stops every subscription, then `release`s the connections; later calls do nothing. */
  close(release: () => Promise<void>): Promise<void>;
}

/**
 * The state a broker adapter keeps between creation and close, shared so every broker refuses
 * work after close with the same error and stops its subscriptions before its connections go.
 * `adapter` and `instance` name it in the error (e.g. 'rabbitmq' and its prefix).
 */
export function adapterLifecycle(adapter: string, instance: string): AdapterLifecycle {
  const subscriptions = new Set<Subscription>();
  let closed = false;
  const stopAll = async () => {
    await Promise.all([...subscriptions].map((s) => s.stop()));
  };
  const ensureOpen = (operation: string) => {
    if (closed) {
      throw new TidemarkError(
        'TM_CLOSED',
        `cannot ${operation}: the ${adapter} backbone '${instance}' is closed`,
      );
    }
  };
  return {
    ensureOpen,
    track: (subscription) => void subscriptions.add(subscription),
    forget: (subscription) => void subscriptions.delete(subscription),
    stopAll,
    publisher: (publishBatch) =>
      async function publish(batch: readonly Envelope[], options: PublishOptions = {}): Promise<void> {
        ensureOpen('publish');
        refuseTransactionalPublish(adapter, options);
        if (batch.length > 0) await publishBatch(batch);
      },
    async close(release) {
      if (closed) return;
      closed = true;
      await stopAll();
      await release();
    },
  };
}

/**
 * A broker cannot take part in a database transaction; only a backbone living in that database
 * (postgres-log) can. Refused rather than ignored, so nobody believes the publish is atomic.
 */
export function refuseTransactionalPublish(adapter: string, options: PublishOptions): void {
  if (options.tx) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${adapter} cannot publish inside a database transaction (capabilities.transactionalPublish is false); ` +
        'write to the outbox in the transaction and let the relay publish',
    );
  }
}

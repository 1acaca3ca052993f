import type { BackboneMessage, BatchHandler } from '../backbone.js';
import { TidemarkError } from '../../errors.js';
import { backoffDelay } from '../../util/backoff.js';
import { sleep } from '../../util/wakeup.js';
import { signWebhook, signatureHeader } from './signature.js';

export interface WebhookSubscriber {
  /** Stable id; also a good backbone group name (`webhook-<id>`). */
  readonly id: string;
  readonly url: string;
  /** Shared secret for HMAC-SHA256 signatures. */
  readonly secret: string;
}

export interface WebhookDispatcherOptions {
  readonly subscriber: WebhookSubscriber;
  /** Tries per event within one batch before the batch is rejected (default 5). */
  readonly attempts?: number;
  /** Backoff between tries (defaults 200 ms, capped at 10 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Consecutive failed batches after which the subscriber is disabled (default 10). */
  readonly disableAfter?: number;
  /** Per request (default 10 s). */
  readonly timeoutMs?: number;
  /** Told when the subscriber gets disabled, e.g. to alert an operator. */
  readonly onDisabled?: (subscriber: WebhookSubscriber, lastError: unknown) => void;
}

export interface WebhookDispatcher {
  /** Subscribe this to a backbone group of its own: `backbone.subscribe('webhook-<id>', d.handler)`. */
  readonly handler: BatchHandler;
  readonly disabled: boolean;
  /** Operator action: deliveries resume (the backbone kept every event meanwhile). */
  enable(): void;
}

/**
 * Outbound webhooks for one subscriber, as a handler on any backbone: the backbone brings the
 * per-partition order, at-least-once redelivery and the subscriber's own pace (its own group);
 * this POSTs each event, signed, per key one after another (keys side by side), retrying with
 * jittered backoff. A batch that still fails is rejected, so the backbone redelivers it from its
 * first event and later events of those keys wait. After `disableAfter` failed batches in a row
 * the subscriber is disabled: batches are refused at once (TM_WEBHOOK_SUBSCRIBER_DISABLED), the
 * events stay in the backbone, and `enable()` resumes them in order.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { subscriber } = options;
  const attempts = options.attempts ?? 5;
  const disableAfter = options.disableAfter ?? 10;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let failedBatches = 0;
  let disabled = false;

  async function post(message: BackboneMessage): Promise<void> {
    const body = JSON.stringify(message.envelope);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await fetch(subscriber.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/cloudevents+json',
            [signatureHeader]: signWebhook(subscriber.secret, body, Math.floor(Date.now() / 1000)),
            'tidemark-event-id': String(message.envelope.id),
            'tidemark-delivery-attempt': String(message.deliveryAttempt),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        lastError = new Error(`HTTP ${response.status}`);
      } catch (error) {
        lastError = error;
      }
      if (attempt < attempts) {
        await sleep(
          backoffDelay(attempt, {
            baseDelayMs: options.retryBaseMs ?? 200,
            maxDelayMs: options.retryMaxMs ?? 10_000,
          }),
        );
      }
    }
    throw new TidemarkError(
      'TM_WEBHOOK_DELIVERY_FAILED',
      `webhook subscriber '${subscriber.id}' (${subscriber.url}) did not accept event ${message.envelope.id} after ` +
        `${attempts} tries (${lastError instanceof Error ? lastError.message : String(lastError)}); it will be ` +
        'redelivered; the subscriber must answer 2xx once it has stored the event',
      { cause: lastError, context: { subscriber: subscriber.id, eventId: message.envelope.id } },
    );
  }

  const handler: BatchHandler = async (messages) => {
    if (disabled) {
      throw new TidemarkError(
        'TM_WEBHOOK_SUBSCRIBER_DISABLED',
        `webhook subscriber '${subscriber.id}' is disabled after ${disableAfter} failed batches in a row; ` +
          'its events are kept; fix the endpoint, then re-enable it',
        { context: { subscriber: subscriber.id } },
      );
    }
    const byKey = new Map<string, BackboneMessage[]>();
    for (const message of messages) {
      const key = message.envelope.partitionkey;
      const list = byKey.get(key);
      if (list) list.push(message);
      else byKey.set(key, [message]);
    }
    const results = await Promise.allSettled(
      [...byKey.values()].map(async (list) => {
        for (const message of list) await post(message);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!failed) {
      failedBatches = 0;
      return;
    }
    failedBatches += 1;
    if (failedBatches >= disableAfter && !disabled) {
      disabled = true;
      options.onDisabled?.(subscriber, failed.reason);
    }
    throw failed.reason;
  };

  return {
    handler,
    get disabled() {
      return disabled;
    },
    enable() {
      disabled = false;
      failedBatches = 0;
    },
  };
}

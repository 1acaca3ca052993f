import type { IncomingMessage } from 'node:http';
import type { Envelope } from '../../envelope/types.js';
import { TidemarkError } from '../../errors.js';
import { signatureHeader, verifyWebhook, type VerifyOptions } from './signature.js';

export interface WebhookReceiver {
  /** Verifies the signature of a raw body and returns the event it carries. */
  verify(signature: string | undefined, rawBody: string): Envelope;
  /** Reads a node:http request body (up to `maxBytes`), then verifies it. */
  receive(request: IncomingMessage): Promise<Envelope>;
}

/**
 * The subscriber's side: verify before trusting anything in the body. Answer 2xx only after the
 * event is stored (the sender retries anything else), and deduplicate by event id: delivery is
 * at-least-once. A refused signature throws TM_WEBHOOK_SIGNATURE_INVALID (answer 401).
 */
export function createWebhookReceiver(
  options: VerifyOptions & { readonly maxBytes?: number },
): WebhookReceiver {
  const maxBytes = options.maxBytes ?? 1_048_576;
  const verify = (signature: string | undefined, rawBody: string): Envelope => {
    verifyWebhook(signature, rawBody, options);
    return JSON.parse(rawBody) as Envelope;
  };
  return {
    verify,
    async receive(request) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of request as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          throw new TidemarkError('TM_PAYLOAD_TOO_LARGE', `webhook body exceeds ${maxBytes} bytes`, {
            context: { maxBytes },
          });
        }
        chunks.push(chunk);
      }
      const header = request.headers[signatureHeader];
      return verify(Array.isArray(header) ? header[0] : header, Buffer.concat(chunks).toString('utf8'));
    },
  };
}

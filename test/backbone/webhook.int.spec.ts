import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackboneMessage } from '../../src/backbone/backbone.js';
import {
  createWebhookDispatcher,
  createWebhookReceiver,
  signWebhook,
  verifyWebhook,
} from '../../src/backbone/webhook/index.js';
import type { Envelope } from '../../src/envelope/types.js';
import { isTidemarkError } from '../../src/errors.js';
import { workload } from '../../src/testing/backbone-workload.js';

const secret = 'whsec-test-secret';

/** A real subscriber on 127.0.0.1 that verifies signatures and answers with `status()`. */
async function subscriberServer(status: () => number) {
  const receiver = createWebhookReceiver({ secrets: [secret] });
  const accepted: Envelope[] = [];
  const refused: string[] = [];
  let requests = 0;
  const server: Server = createServer((request, response) => {
    requests += 1;
    receiver.receive(request).then(
      (envelope) => {
        const code = status();
        if (code < 300) accepted.push(envelope);
        response.writeHead(code).end();
      },
      (error: unknown) => {
        refused.push(isTidemarkError(error) ? error.code : String(error));
        response.writeHead(401).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  servers.push(server);
  return { url: `http://127.0.0.1:${address.port}/hooks`, accepted, refused, requests: () => requests };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const asMessages = (envelopes: Envelope[]): BackboneMessage[] =>
  envelopes.map((envelope, i) => ({ envelope, partition: 0, offset: i + 1, deliveryAttempt: 1 }));

describe('webhook signatures', () => {
  const body = JSON.stringify({ hello: 'world' });
  const now = 1_700_000_000;

  it('accepts a fresh signature by any of the configured secrets (rotation)', () => {
    const header = signWebhook(secret, body, now);
    expect(() => verifyWebhook(header, body, { secrets: ['old', secret], nowSec: now + 10 })).not.toThrow();
  });

  it.each([
    ['no header', undefined, body, now, /no tidemark-signature header/],
    ['a malformed header', 'v1=abc', body, now, /malformed header/],
    ['a replayed (old) request', signWebhook(secret, body, now - 301), body, now, /outside the 300 s window/],
    ['a changed body', signWebhook(secret, body, now), `${body} `, now, /matches no configured secret/],
    ['another secret', signWebhook('other', body, now), body, now, /matches no configured secret/],
  ])('refuses %s with TM_WEBHOOK_SIGNATURE_INVALID', (_name, header, received, at, message) => {
    let error: unknown;
    try {
      verifyWebhook(header, received, { secrets: [secret], nowSec: at });
    } catch (e) {
      error = e;
    }
    expect(isTidemarkError(error) && error.code).toBe('TM_WEBHOOK_SIGNATURE_INVALID');
    expect((error as Error).message).toMatch(message);
  });
});

describe('webhook dispatcher against a real HTTP subscriber', () => {
  it('delivers every event signed, per key in order', async () => {
    const subscriber = await subscriberServer(() => 204);
    const dispatcher = createWebhookDispatcher({ subscriber: { id: 's1', url: subscriber.url, secret } });
    const published = workload(4, 3).flat();
    await dispatcher.handler(asMessages(published), 0);
    expect(subscriber.refused).toEqual([]);
    expect(subscriber.accepted.map((e) => e.id).sort()).toEqual(published.map((e) => e.id).sort());
    for (const key of new Set(published.map((e) => e.partitionkey))) {
      const versions = subscriber.accepted.filter((e) => e.partitionkey === key).map((e) => e.entityversion);
      expect(versions).toEqual([1, 2, 3]);
    }
  });

  it('retries a failing subscriber with backoff until it accepts', async () => {
    let calls = 0;
    const subscriber = await subscriberServer(() => (++calls <= 2 ? 503 : 200));
    const dispatcher = createWebhookDispatcher({
      subscriber: { id: 's2', url: subscriber.url, secret },
      retryBaseMs: 5,
      retryMaxMs: 20,
    });
    const [event] = workload(1, 1).flat();
    await dispatcher.handler(asMessages([event!]), 0);
    expect(subscriber.requests()).toBe(3);
    expect(subscriber.accepted.map((e) => e.id)).toEqual([event!.id]);
  });

  it('rejects the batch after its tries, disables the subscriber after repeated failures, and an operator re-enables it', async () => {
    // Given a subscriber that is down
    let up = false;
    const subscriber = await subscriberServer(() => (up ? 200 : 500));
    const disabledNotices: string[] = [];
    const dispatcher = createWebhookDispatcher({
      subscriber: { id: 's3', url: subscriber.url, secret },
      attempts: 2,
      retryBaseMs: 1,
      retryMaxMs: 5,
      disableAfter: 3,
      onDisabled: (s) => disabledNotices.push(s.id),
    });
    const batch = asMessages(workload(1, 2).flat());
    const codeOf = async () =>
      dispatcher.handler(batch, 0).then(
        () => 'ok',
        (e: unknown) => (isTidemarkError(e) ? e.code : String(e)),
      );

    // When three batches fail, each after 2 tries
    expect([await codeOf(), await codeOf(), await codeOf()]).toEqual(
      Array(3).fill('TM_WEBHOOK_DELIVERY_FAILED'),
    );

    // Then it is disabled: the next batch is refused without a request
    expect(dispatcher.disabled).toBe(true);
    expect(disabledNotices).toEqual(['s3']);
    const before = subscriber.requests();
    expect(await codeOf()).toBe('TM_WEBHOOK_SUBSCRIBER_DISABLED');
    expect(subscriber.requests()).toBe(before);

    // And once fixed and re-enabled, the same batch goes through in order
    up = true;
    dispatcher.enable();
    expect(await codeOf()).toBe('ok');
    expect(subscriber.accepted.map((e) => e.entityversion)).toEqual([1, 2]);
  });

  it('the receiver refuses a request signed with another secret', async () => {
    const subscriber = await subscriberServer(() => 200);
    const dispatcher = createWebhookDispatcher({
      subscriber: { id: 's4', url: subscriber.url, secret: 'not-the-receivers' },
      attempts: 1,
    });
    await expect(dispatcher.handler(asMessages(workload(1, 1).flat()), 0)).rejects.toThrow(/did not accept/);
    expect(subscriber.refused).toEqual(['TM_WEBHOOK_SIGNATURE_INVALID']);
    expect(subscriber.accepted).toEqual([]);
  });
});

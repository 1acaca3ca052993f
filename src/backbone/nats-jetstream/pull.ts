import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';

/** One message taken from a durable pull consumer, not yet acknowledged. */
export interface PulledMessage {
  readonly streamSequence: number;
  /** 1 on first delivery; the server counts redeliveries (after a nak or an ack timeout). */
  readonly deliveryCount: number;
  readonly data: Uint8Array;
  /** The ack subject of this delivery. */
  readonly reply: string;
}

export interface PullResult {
  readonly messages: PulledMessage[];
  /**
   * False when the pull ended without the server saying it was over (timeout, consumer gone,
   * connection trouble): messages may still be on their way to a reply subject nobody reads,
   * where they stay unacknowledged and would later be redelivered after newer ones.
   */
  readonly clean: boolean;
}

export interface Puller {
  /** Takes what is ready, up to `max`; if nothing is, waits up to `waitMs` for the first message. */
  pull(max: number, waitMs: number): Promise<PullResult>;
  /** Acknowledges in order; resolves once the server confirmed (so all earlier acks too). */
  ack(messages: readonly PulledMessage[]): Promise<void>;
  /** Hands the messages back for immediate redelivery, in order; resolves once confirmed. */
  nak(messages: readonly PulledMessage[]): Promise<void>;
  /** Restarts the ack timer of messages still being worked on. */
  working(messages: readonly PulledMessage[]): void;
  close(): void;
}

/**
 * Pull requests made by hand on `$JS.API.CONSUMER.MSG.NEXT`, because the client's `fetch()` has
 * no `no_wait`: it holds a request open until the batch is full or 1 s has passed, which adds
 * that second of latency to every batch smaller than the maximum. Here a batch is what is
 * ready now (`no_wait`: the server answers at once and ends with a 404/408 status), and an idle
 * partition long-polls for a single message, then tops the batch up without waiting.
 */
export function createPuller(
  nc: NatsConnection,
  stream: string,
  consumer: string,
  requestTimeoutMs: number,
): Puller {
  const api = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`;
  let abort: (() => void) | undefined;

  // Each request answers on an inbox of its own (JetStream deliveries carry the original
  // subject, so replies cannot be told apart by subject): once a request is over, its inbox
  // is gone, and a late reply to it can never be mistaken for part of the next batch.
  function request(body: Record<string, unknown>, want: number, timeoutMs: number): Promise<PullResult> {
    return new Promise((resolve) => {
      const got: PulledMessage[] = [];
      const inbox = createInbox();
      let subscription: Subscription | undefined;
      let timer: NodeJS.Timeout | undefined = undefined;
      let over = false;
      const finish = (clean: boolean) => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        subscription?.unsubscribe();
        abort = undefined;
        resolve({ messages: got, clean });
      };
      try {
        subscription = nc.subscribe(inbox, {
          callback: (error, msg) => {
            if (error) return finish(false);
            const pulled = parseDelivery(msg);
            if (pulled) {
              got.push(pulled);
              if (got.length >= want) finish(true);
              return;
            }
            const code = msg.headers?.code ?? 0;
            if (code === 100) return; // idle heartbeat
            // 404 no messages, 408 request expired (or no_wait ran dry): the server is done with it.
            // 409 (consumer deleted, leadership change, too many waiting pulls) leaves the state unknown.
            finish(code === 404 || code === 408);
          },
        });
        nc.publish(api, JSON.stringify({ batch: want, ...body }), { reply: inbox });
      } catch {
        // A closed or draining connection refuses at once.
        return finish(false);
      }
      timer = setTimeout(() => finish(false), timeoutMs);
      abort = () => finish(false);
    });
  }

  async function settle(messages: readonly PulledMessage[], verb: string): Promise<void> {
    if (messages.length === 0) return;
    for (const m of messages.slice(0, -1)) nc.publish(m.reply, verb);
    // Acks of one consumer are processed in the order sent; confirming the last confirms all.
    await nc.request(messages[messages.length - 1]!.reply, verb, { timeout: requestTimeoutMs });
  }

  return {
    async pull(max, waitMs) {
      const ready = await request({ no_wait: true }, max, requestTimeoutMs);
      if (ready.messages.length > 0 || !ready.clean) return ready;
      const first = await request({ expires: waitMs * 1_000_000 }, 1, waitMs + requestTimeoutMs);
      if (first.messages.length === 0 || !first.clean || max === 1) return first;
      const more = await request({ no_wait: true }, max - 1, requestTimeoutMs);
      return { messages: [...first.messages, ...more.messages], clean: more.clean };
    },
    ack: (messages) => settle(messages, '+ACK'),
    nak: (messages) => settle(messages, '-NAK'),
    working(messages) {
      try {
        for (const m of messages) nc.publish(m.reply, '+WPI');
      } catch {
        // Connection gone: the ack wait runs out and the messages come again; nothing to do here.
      }
    },
    close() {
      abort?.();
    },
  };
}

/** Reads stream sequence and delivery count from the ack subject the server attached. */
function parseDelivery(msg: Msg): PulledMessage | undefined {
  const reply = msg.reply;
  if (!reply || !reply.startsWith('$JS.ACK.')) return undefined;
  const tokens = reply.split('.');
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.… (9 tokens), or with <domain>.<account hash>
  // after ACK (11 or 12 tokens) on newer servers.
  const at = tokens.length === 9 ? 4 : 6;
  const deliveryCount = Number(tokens[at]);
  const streamSequence = Number(tokens[at + 1]);
  if (!Number.isSafeInteger(deliveryCount) || !Number.isSafeInteger(streamSequence)) return undefined;
  return { streamSequence, deliveryCount, data: msg.data, reply };
}

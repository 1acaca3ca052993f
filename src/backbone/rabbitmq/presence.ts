import type { Channel } from 'amqplib';
import type { RabbitSession } from './connect.js';
import type { Naming } from './names.js';
import type { RabbitMqConfig } from './options.js';

/**
 * Group membership from heartbeats on the presence exchange: each member publishes its id every
 * `heartbeatMs` with routing key = group, and hears the others' beats on an exclusive queue of
 * its own. A member not heard from within `memberTtlMs` counts as gone (a dead process stops
 * beating); one that stops cleanly says so at once. Only the partition split depends on this
 * view: exclusivity of a partition is the broker's single-active-consumer, so two members that
 * briefly disagree never handle the same partition at once.
 */
export interface Presence {
  /** Announces this member (and re-creates the listening queue after a lost connection). */
  beat(): Promise<void>;
  /** Live members, this one included, sorted. */
  live(): string[];
  leave(): Promise<void>;
}

export function openPresence(
  session: RabbitSession,
  config: RabbitMqConfig,
  names: Naming,
  group: string,
  member: string,
): Presence {
  const lastSeen = new Map<string, number>();
  let channel: Channel | undefined;

  async function listen(): Promise<Channel> {
    const c = await session.channel();
    c.on('close', () => {
      if (channel === c) channel = undefined;
    });
    const { queue } = await c.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await c.bindQueue(queue, names.presence, group);
    await c.consume(
      queue,
      (message) => {
        if (!message) return;
        const [state, who] = message.content.toString('utf8').split(' ');
        if (!who) return;
        if (state === 'leave') lastSeen.delete(who);
        else lastSeen.set(who, performance.now());
      },
      { noAck: true },
    );
    channel = c;
    return c;
  }

  return {
    async beat() {
      const c = channel ?? (await listen());
      c.publish(names.presence, group, Buffer.from(`alive ${member}`));
    },
    live() {
      const now = performance.now();
      for (const [who, at] of lastSeen) if (now - at > config.memberTtlMs) lastSeen.delete(who);
      return [...new Set([...lastSeen.keys(), member])].sort();
    },
    async leave() {
      const c = channel;
      channel = undefined;
      if (!c) return;
      c.publish(names.presence, group, Buffer.from(`leave ${member}`));
      await c.close().catch(() => {});
    },
  };
}

import type { RabbitMqConfig } from './options.js';

/**
 * Every exchange and queue name the adapter derives, in one place:
 * - `<prefix>.log` (direct): every event, routing key `p<n>` = partition of its key;
 * - `<prefix>.<group>.p<n>` (queue): partition n of a group, single active consumer;
 * - `<prefix>.unrouted` (fanout + queue): the log's alternate exchange, catching events of a
 *   partition no group has a queue for yet, so nothing is silently dropped;
 * - `<prefix>.dead` (direct, routing key = group) and `<prefix>.<group>.dead` (queue): what the
 *   broker dead-letters;
 * - `<prefix>.presence` (topic, routing key = group): members' heartbeats;
 * - `<prefix>.layout` (queue): one message recording the partition count.
 */
export function naming(config: Pick<RabbitMqConfig, 'prefix' | 'partitions'>) {
  const p = config.prefix;
  return {
    log: `${p}.log`,
    routingKey: (partition: number) => `p${partition}`,
    queue: (group: string, partition: number) => `${p}.${group}.p${partition}`,
    unrouted: `${p}.unrouted`,
    dead: `${p}.dead`,
    deadQueue: (group: string) => `${p}.${group}.dead`,
    presence: `${p}.presence`,
    layout: `${p}.layout`,
  };
}

export type Naming = ReturnType<typeof naming>;

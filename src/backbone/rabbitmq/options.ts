import { checkGroupName, optionChecks, redactUrl, urlProtocol } from '../shared/options.js';
import type { DeadLetterSink } from './dead-letters.js';

export interface RabbitMqOptions {
  /** AMQP URL, e.g. `amqp://guest:guest@127.0.0.1:5672/` (vhost after the last `/`). */
  readonly url: string;
  /**
   * Name prefix of every exchange and queue the adapter declares (letters, digits, `_`, `-`,
   * `.`): the log exchange `<prefix>.log`, per (group, partition) queues `<prefix>.<group>.p<n>`.
   */
  readonly prefix: string;
  /** Partition count; every instance of a deployment must agree (default 16). */
  readonly partitions?: number;
  /**
   * Groups whose queues are declared at start-up, also by instances that only publish. A group
   * receives what is published after its queues exist; declaring it here makes the producer
   * side create them, so nothing published before the first subscriber starts is missed.
   */
  readonly groups?: readonly string[];
  /** `quorum` (default: replicated, fsync before confirm, delivery counts) or `classic`. */
  readonly queueType?: 'quorum' | 'classic';
  /**
   * Deliveries of one message before the broker dead-letters it to `<prefix>.<group>.dead`
   * (quorum queues only; default: unlimited). Keep it unlimited unless `deadLetters` is set:
   * the consumer runtime parks poison events in Tidemark's DLQ itself.
   */
  readonly deliveryLimit?: number;
  /** Where messages the broker dead-letters go; without it they stay in the `.dead` queue. */
  readonly deadLetters?: DeadLetterSink;
  /** A member counts as gone this long after its last presence beat (default 6 s). */
  readonly memberTtlMs?: number;
  /** How often members announce themselves and rebalance (default a third of `memberTtlMs`). */
  readonly heartbeatMs?: number;
  /** Backoff after a rejected batch (defaults 100 ms, capped at 10 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Connection timeout and AMQP heartbeat basis (default 5 s). */
  readonly connectTimeoutMs?: number;
}

export interface RabbitMqConfig {
  readonly url: string;
  /** `url` without the password, for messages and logs. */
  readonly address: string;
  readonly prefix: string;
  readonly partitions: number;
  readonly groups: readonly string[];
  readonly queueType: 'quorum' | 'classic';
  readonly deliveryLimit: number | undefined;
  readonly memberTtlMs: number;
  readonly heartbeatMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly connectTimeoutMs: number;
}

const prefixPattern = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const { invalid, integer, heartbeat } = optionChecks('rabbitmq');

/** Group names become queue name parts and presence routing keys. */
export function checkGroup(group: string): void {
  checkGroupName(group, 'a RabbitMQ queue');
}

/** Applies defaults and checks every option once; the result is frozen. */
export function resolveOptions(options: RabbitMqOptions): RabbitMqConfig {
  const protocol = urlProtocol(options.url);
  if (protocol !== 'amqp:' && protocol !== 'amqps:') {
    invalid(
      'url',
      'an AMQP URL such as "amqp://guest:guest@127.0.0.1:5672/"',
      redactUrl(String(options.url)),
    );
  }
  if (
    typeof options.prefix !== 'string' ||
    !prefixPattern.test(options.prefix) ||
    options.prefix.length > 100
  ) {
    invalid(
      'prefix',
      'dot-separated tokens of letters, digits, "_" or "-" (at most 100 characters)',
      options.prefix,
    );
  }
  const groups = [...(options.groups ?? [])];
  groups.forEach(checkGroup);
  const queueType = options.queueType ?? 'quorum';
  if (queueType !== 'quorum' && queueType !== 'classic')
    invalid('queueType', '"quorum" or "classic"', queueType);
  const deliveryLimit =
    options.deliveryLimit === undefined
      ? undefined
      : integer('deliveryLimit', options.deliveryLimit, 1, 1_000_000);
  if (deliveryLimit !== undefined && queueType !== 'quorum') {
    invalid(
      'deliveryLimit',
      'left out with queueType "classic" (only quorum queues count deliveries)',
      deliveryLimit,
    );
  }
  const memberTtlMs = integer('memberTtlMs', options.memberTtlMs ?? 6_000, 300, 3_600_000);
  const heartbeatMs = heartbeat(
    options.heartbeatMs,
    'memberTtlMs',
    memberTtlMs,
    'one late beat drops no member',
  );
  return Object.freeze({
    url: options.url,
    address: redactUrl(options.url),
    prefix: options.prefix,
    partitions: integer('partitions', options.partitions ?? 16, 1, 1024),
    groups: Object.freeze(groups),
    queueType,
    deliveryLimit,
    memberTtlMs,
    heartbeatMs,
    retryBaseMs: integer('retryBaseMs', options.retryBaseMs ?? 100, 1, 3_600_000),
    retryMaxMs: integer('retryMaxMs', options.retryMaxMs ?? 10_000, 1, 3_600_000),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs ?? 5_000, 100, 300_000),
  });
}

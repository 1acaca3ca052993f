import { TidemarkError } from '../../errors.js';

export interface OptionChecks {
  /** Throws TM_INVALID_ARGUMENT naming the option, what it must be, and the value given. */
  invalid(option: string, expected: string, value: unknown): never;
  /** `value` if it is an integer within [min, max]; otherwise invalid. */
  integer(option: string, value: number, min: number, max: number): number;
  /**
   * The heartbeat interval (default a third of `ttlOption`), at most half of it so that one late
   * beat is not mistaken for a dead member; `consequence` says what that protects.
   */
  heartbeat(heartbeatMs: number | undefined, ttlOption: string, ttlMs: number, consequence: string): number;
}

/** Option checks whose errors name the adapter, e.g. "rabbitmq option partitions must be …". */
export function optionChecks(adapter: string): OptionChecks {
  function invalid(option: string, expected: string, value: unknown): never {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${adapter} option ${option} must be ${expected}, got ${JSON.stringify(value)}`,
      { context: { option, value } },
    );
  }
  function integer(option: string, value: number, min: number, max: number): number {
    if (!Number.isInteger(value) || value < min || value > max) {
      invalid(option, `an integer from ${min} to ${max}`, value);
    }
    return value;
  }
  function heartbeat(heartbeatMs: number | undefined, ttlOption: string, ttlMs: number, consequence: string) {
    const value = integer('heartbeatMs', heartbeatMs ?? Math.floor(ttlMs / 3), 50, ttlMs);
    if (value * 2 > ttlMs) {
      invalid('heartbeatMs', `at most half of ${ttlOption} (${ttlMs}) so ${consequence}`, value);
    }
    return value;
  }
  return { invalid, integer, heartbeat };
}

/** The scheme of a URL ("amqp:", "redis:"), or undefined when it is no URL at all. */
export function urlProtocol(url: unknown): string | undefined {
  try {
    return new URL(String(url)).protocol;
  } catch {
    return undefined;
  }
}

/** A URL fit for messages and logs: its password replaced by "***". */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

// Group names become parts of broker names (queues, consumer groups, consumers, KV keys), which
// all accept these characters.
const groupPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws TM_INVALID_ARGUMENT unless `group` can name `brokerObject` (e.g. "a RabbitMQ queue"). */
export function checkGroupName(group: string, brokerObject: string): void {
  if (!groupPattern.test(group)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `consumer group ${JSON.stringify(group)} cannot name ${brokerObject}: use 1 to 64 letters, digits, "_" or "-"`,
      { context: { group } },
    );
  }
}

export interface BackoffOptions {
  /** Delay cap before the first retry (default 50 ms). */
  readonly baseDelayMs?: number;
  /** Largest delay (default 5 s). */
  readonly maxDelayMs?: number;
}

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(max, base * 2^(attempt-1))].
 * Full jitter spreads retries of many failing consumers so they do not hit a recovering
 * dependency in lock-step.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const base = options.baseDelayMs ?? 50;
  const max = options.maxDelayMs ?? 5_000;
  const cap = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

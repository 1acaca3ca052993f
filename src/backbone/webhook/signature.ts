import { createHmac, timingSafeEqual } from 'node:crypto';
import { TidemarkError } from '../../errors.js';

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const signatureHeader = 'tidemark-signature';

/** Signs `body` at `timestampSec`: the timestamp is inside the MAC, so it cannot be changed. */
export function signWebhook(secret: string, body: string, timestampSec: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
  return `t=${timestampSec},v1=${mac}`;
}

export interface VerifyOptions {
  /** Accepted secrets; more than one while a secret is being rotated. */
  readonly secrets: readonly string[];
  /** Largest age (or clock lead) of a signature in seconds (default 300): the replay window. */
  readonly toleranceSec?: number;
  readonly nowSec?: number;
}

function refuse(reason: string, fix: string): never {
  throw new TidemarkError('TM_WEBHOOK_SIGNATURE_INVALID', `webhook signature refused: ${reason}; ${fix}`, {
    context: { reason },
  });
}

/**
 * Checks a `tidemark-signature` header against the raw body (the exact bytes received, before
 * any JSON parsing). Refuses a missing or malformed header, a timestamp outside the tolerance
 * (a replayed request), and a MAC matching none of the secrets (compared in constant time).
 */
export function verifyWebhook(header: string | undefined, body: string, options: VerifyOptions): void {
  if (!header) refuse(`no ${signatureHeader} header`, 'the sender must sign every request');
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const mac = parts.get('v1') ?? '';
  if (!Number.isSafeInteger(t) || !/^[0-9a-f]{64}$/.test(mac)) {
    refuse(
      `malformed header ${JSON.stringify(header.slice(0, 100))}`,
      'expected "t=<unix seconds>,v1=<64 hex>"',
    );
  }
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSec ?? 300;
  if (Math.abs(now - t) > tolerance) {
    refuse(
      `timestamp ${t} is ${now - t} s from now, outside the ${tolerance} s window (a replay, or a skewed clock)`,
      "check the sender's clock (NTP); a replayed request must not be accepted",
    );
  }
  const given = Buffer.from(mac, 'hex');
  const matches = options.secrets.some((secret) =>
    timingSafeEqual(given, Buffer.from(signWebhook(secret, body, t).slice(`t=${t},v1=`.length), 'hex')),
  );
  if (!matches)
    refuse(
      'the MAC matches no configured secret',
      'check that both sides use the same secret and the raw body',
    );
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { TidemarkError } from '../errors.js';

/** What a token may do: viewers read, operators also act (retry, skip, edit, replay). */
export type Role = 'viewer' | 'operator';
export const roles: readonly Role[] = ['viewer', 'operator'];

/** A configured token: only its SHA-256 is kept, so a leaked configuration leaks no token. */
export interface TokenConfig {
  /** Who holds the token; recorded as the actor of every action taken with it. */
  readonly name: string;
  readonly role: Role;
  /** Lower-case hex SHA-256 of the token (`tidemark serve --hash-token <token>` prints it). */
  readonly sha256: string;
}

export interface Principal {
  readonly name: string;
  readonly role: Role;
}

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

const hexDigest = /^[0-9a-f]{64}$/;
const namePattern = /^[A-Za-z0-9._@-]{1,100}$/;

/**
 * Parses `name:role:sha256hex` (the `--token` option and `TIDEMARK_TOKENS`, comma-separated).
 */
export function parseTokenSpec(spec: string): TokenConfig {
  const [name = '', role = '', sha256 = '', ...rest] = spec.trim().split(':');
  const token = { name, role: role as Role, sha256: sha256.toLowerCase() };
  if (rest.length > 0 || !name || !role || !sha256) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `token "${spec.slice(0, 40)}" is not name:role:sha256 (e.g. jane:operator:$(tidemark serve --hash-token s3cret))`,
    );
  }
  return validateToken(token, 0);
}

function validateToken(token: TokenConfig, index: number): TokenConfig {
  const at = `tokens[${index}]`;
  if (!token || typeof token.name !== 'string' || !namePattern.test(token.name)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${at}.name must be 1-100 letters, digits or ._@- (the actor recorded in the audit log), got ${JSON.stringify(token?.name)}`,
    );
  }
  if (!roles.includes(token.role)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${at}.role must be "viewer" or "operator", got ${JSON.stringify(token.role)}`,
    );
  }
  if (typeof token.sha256 !== 'string' || !hexDigest.test(token.sha256)) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      `${at}.sha256 must be the 64-character hex SHA-256 of the token, not the token itself ` +
        '(print it with: tidemark serve --hash-token <token>)',
    );
  }
  return Object.freeze({ name: token.name, role: token.role, sha256: token.sha256 });
}

/**
 * Builds the check of `Authorization` headers. Every configured hash is compared, in constant
 * time, whatever matched earlier, so timing reveals neither which token nor how much of one.
 */
export function createAuthenticator(tokens: readonly TokenConfig[]) {
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new TidemarkError(
      'TM_INVALID_ARGUMENT',
      'the control plane needs at least one token: tokens: [{ name, role, sha256 }] ' +
        '(or tidemark serve --token name:role:sha256)',
    );
  }
  const configured = tokens.map((t, i) => {
    const token = validateToken(t, i);
    return { principal: { name: token.name, role: token.role }, digest: Buffer.from(token.sha256, 'hex') };
  });
  const names = new Set(configured.map((c) => c.principal.name));
  if (names.size !== configured.length) {
    throw new TidemarkError('TM_INVALID_ARGUMENT', 'two tokens share a name; give each holder its own name');
  }

  return function authenticate(header: string | undefined): Principal {
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header.trim()) : null;
    if (!match) {
      throw new TidemarkError(
        'TM_UNAUTHENTICATED',
        'this endpoint needs a token: send the header "Authorization: Bearer <token>"',
      );
    }
    const presented = createHash('sha256').update(match[1]!, 'utf8').digest();
    let found: Principal | undefined;
    for (const candidate of configured) {
      if (timingSafeEqual(presented, candidate.digest) && !found) found = candidate.principal;
    }
    if (!found) {
      throw new TidemarkError(
        'TM_UNAUTHENTICATED',
        'the bearer token matches no configured token; check for a typo or ask for a new token',
      );
    }
    return found;
  };
}

export function requireRole(principal: Principal, needed: Role, what: string): void {
  if (needed === 'operator' && principal.role !== 'operator') {
    throw new TidemarkError(
      'TM_FORBIDDEN',
      `${what} is an operator action; the token of '${principal.name}' has role ${principal.role}`,
      { context: { role: principal.role, needed } },
    );
  }
}

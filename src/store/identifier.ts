import { TidemarkError } from '../errors.js';

const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Checks a configured schema/table name against a strict pattern and returns it
 * quoted. SQL is only ever built from such names, never from request text.
 */
export function quoteIdentifier(name: string, what = 'identifier'): string {
  if (typeof name !== 'string' || !identifierPattern.test(name)) {
    throw new TidemarkError(
      'TM_INVALID_IDENTIFIER',
      `${what} ${JSON.stringify(name)} is not allowed: use 1-63 characters of lower-case letters, digits ` +
        'and underscores, starting with a letter or underscore (e.g. "tidemark")',
      { context: { name, what } },
    );
  }
  return `"${name}"`;
}

import { createHash } from 'node:crypto';

/**
 * Names for server-side prepared statements, derived from the SQL text so the same text gets
 * the same name on every connection and two different texts never share one (pg refuses a name
 * reused with other text). PostgreSQL truncates names at 63 bytes: 'tm_' + 40 hex digits fits.
 *
 * The cache only saves hashing on the hot path; it is cleared when it grows past `limit`
 * because texts embed schema names, and a process that opens many schemas (a test suite)
 * would otherwise keep every text it ever ran.
 */
export function statementNamer(limit = 2_000): (text: string) => string {
  const names = new Map<string, string>();
  return (text) => {
    let name = names.get(text);
    if (name === undefined) {
      if (names.size >= limit) names.clear();
      name = `tm_${createHash('sha1').update(text).digest('hex')}`;
      names.set(text, name);
    }
    return name;
  };
}

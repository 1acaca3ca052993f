/**
 * PostgreSQL's `jsonb` (where outboxes, inboxes, holds and dead letters keep envelopes) refuses
 * two things JavaScript strings may hold: U+0000 and UTF-16 surrogates without their pair. An
 * envelope carrying either could never be stored, so it is refused up front with the path of
 * the offending text instead of a raw database error.
 */

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored in jsonb, or undefined when it can. */
function unstorable(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a string containing U+0000 (NUL)';
  if (loneSurrogate.test(text)) return 'a string containing a lone UTF-16 surrogate';
  return undefined;
}

/** The first string (value or member name) in `value` that jsonb cannot store: its path and why. */
export function findUnstorableText(
  value: unknown,
  path: string,
): { readonly path: string; readonly problem: string } | undefined {
  if (typeof value === 'string') {
    const problem = unstorable(value);
    return problem ? { path, problem } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnstorableText(item, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      const keyProblem = unstorable(key);
      if (keyProblem) return { path: `${path} (member name ${JSON.stringify(key)})`, problem: keyProblem };
      const found = findUnstorableText(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * JSON text of `value` that jsonb accepts: NULs and lone surrogates become U+FFFD. For keeping
 * what was received (a dead letter) when the original cannot be stored as it is.
 */
export function storableJson(value: unknown): string {
  return JSON.stringify(value, (key, item: unknown) => {
    if (typeof item === 'string' && unstorable(item)) return replaceUnstorable(item);
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const entries = Object.entries(item as Record<string, unknown>);
      if (entries.some(([name]) => unstorable(name))) {
        return Object.fromEntries(entries.map(([name, v]) => [replaceUnstorable(name), v]));
      }
    }
    return item;
  });
}

/** `text` with NULs and lone surrogates replaced by U+FFFD, for a text column. */
export function replaceUnstorable(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').replace(new RegExp(loneSurrogate, 'g'), '\uFFFD');
}

/**
 * PII tags: a schema marks a field as personal or sensitive data with `"x-pii": true` on the
 * field's schema. Consumers then receive such a field only when their allow-list names it.
 */
import { isObject, resolvePointer } from './json.js';
import type { JsonSchema } from './types.js';
import { walkProperties } from './walk-properties.js';

/**
 * The annotation keyword. Declare it to the compiler so schemas may use it:
 * `createSchemaCompiler({ keywords: [piiKeyword] })`.
 */
export const piiKeyword = 'x-pii';

/**
 * The dotted paths (see `projectFields`) of every field tagged `x-pii` in `schema`, found
 * through `properties`, `items`/`prefixItems`, local `$ref`s and `allOf`/`anyOf`/`oneOf`;
 * sorted, without repeats. A tagged object hides all of its fields. Fields under
 * `additionalProperties` or `patternProperties` have no fixed name and cannot be tagged.
 */
export function piiPaths(schema: JsonSchema): string[] {
  const found = new Set<string>();
  /** Tagged itself, or a `$ref` to a tagged definition (e.g. `#/$defs/email`). */
  const isTagged = (sub: unknown): boolean =>
    isObject(sub) &&
    (sub[piiKeyword] === true ||
      (typeof sub.$ref === 'string' &&
        isObject(resolvePointer(schema, sub.$ref)) &&
        (resolvePointer(schema, sub.$ref) as Record<string, unknown>)[piiKeyword] === true));
  walkProperties(schema, (path, sub) => {
    // A tagged object hides all of its fields: no need to look inside.
    if (!isTagged(sub)) return true;
    found.add(path);
    return false;
  });
  return [...found].sort();
}

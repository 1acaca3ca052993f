/**
 * PII tags: a schema marks a field as personal or sensitive data with `"x-pii": true` on the
 * field's schema. Consumers then receive such a field only when their allow-list names it.
 */
import { isObject, resolvePointer } from './json.js';
import type { JsonSchema } from './types.js';

/**
 * The annotation keyword. Declare it to the compiler so schemas may use it:
 * `createSchemaCompiler({ keywords: [piiKeyword] })`.
 */
export const piiKeyword = 'x-pii';

const combinators = ['allOf', 'anyOf', 'oneOf'] as const;

/**
 * The dotted paths (see `projectFields`) of every field tagged `x-pii` in `schema`, found
 * through `properties`, `items`/`prefixItems`, local `$ref`s and `allOf`/`anyOf`/`oneOf`;
 * sorted, without repeats. A tagged object hides all of its fields. Fields under
 * `additionalProperties` or `patternProperties` have no fixed name and cannot be tagged.
 */
export function piiPaths(schema: JsonSchema): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, prefix: string, refs: ReadonlySet<string>): void => {
    if (!isObject(node)) return;
    if (typeof node.$ref === 'string' && !refs.has(node.$ref)) {
      visit(resolvePointer(schema, node.$ref), prefix, new Set([...refs, node.$ref]));
    }
    for (const keyword of combinators) {
      const list = node[keyword];
      if (Array.isArray(list)) for (const sub of list) visit(sub, prefix, refs);
    }
    if (Array.isArray(node.prefixItems)) for (const sub of node.prefixItems) visit(sub, prefix, refs);
    visit(node.items, prefix, refs);
    if (isObject(node.properties)) {
      for (const [name, sub] of Object.entries(node.properties)) {
        const path = prefix ? `${prefix}.${name}` : name;
        if (isTagged(sub)) found.add(path);
        else visit(sub, path, refs);
      }
    }
  };
  /** Tagged itself, or a `$ref` to a tagged definition (e.g. `#/$defs/email`). */
  const isTagged = (sub: unknown): boolean =>
    isObject(sub) &&
    (sub[piiKeyword] === true ||
      (typeof sub.$ref === 'string' &&
        isObject(resolvePointer(schema, sub.$ref)) &&
        (resolvePointer(schema, sub.$ref) as Record<string, unknown>)[piiKeyword] === true));
  visit(schema, '', new Set());
  return [...found].sort();
}

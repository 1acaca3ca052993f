/**
 * The field paths a schema declares, in the dotted form allow-lists use (`address.postcode`;
 * arrays are transparent, as in `projectFields`). Topology checks use it to refuse an
 * allow-list naming a field no schema of the entity type has: a typo there silently withholds
 * a field the consumer needs.
 */
import type { JsonSchema } from './types.js';
import { walkProperties } from './walk-properties.js';

const cache = new WeakMap<object, string[]>();

/**
 * Every named property path in `schema`, found through `properties`, `items`/`prefixItems`,
 * local `$ref`s and `allOf`/`anyOf`/`oneOf`; sorted. Properties matched only by
 * `additionalProperties` or `patternProperties` have no fixed name and are not listed.
 */
export function schemaFieldPaths(schema: JsonSchema): string[] {
  if (typeof schema !== 'object') return [];
  const cached = cache.get(schema);
  if (cached) return cached;
  const found = new Set<string>();
  walkProperties(schema, (path) => {
    found.add(path);
    return true;
  });
  const paths = [...found].sort();
  cache.set(schema, paths);
  return paths;
}

/**
 * The field paths a schema declares, in the dotted form allow-lists use (`address.postcode`;
 * arrays are transparent, as in `projectFields`). Topology checks use it to refuse an
 * allow-list naming a field no schema of the entity type has: a typo there silently withholds
 * a field the consumer needs.
 */
import { isObject, resolvePointer } from './json.js';
import type { JsonSchema } from './types.js';

const combinators = ['allOf', 'anyOf', 'oneOf'] as const;
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
        found.add(path);
        visit(sub, path, refs);
      }
    }
  };
  visit(schema, '', new Set());
  const paths = [...found].sort();
  cache.set(schema, paths);
  return paths;
}

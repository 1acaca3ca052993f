import { isObject, resolvePointer } from './json.js';
import type { JsonSchema } from './types.js';

const combinators = ['allOf', 'anyOf', 'oneOf'] as const;

/**
 * Visits every named property of `schema` with its dotted path (`address.postcode`; arrays are
 * transparent, as in `projectFields`), through `properties`, `items`/`prefixItems`, local `$ref`s
 * (each followed once per path, so recursive schemas end) and `allOf`/`anyOf`/`oneOf`.
 * `onProperty` says whether to descend into the property's own fields. Properties matched only
 * by `additionalProperties` or `patternProperties` have no fixed name and are not visited.
 */
export function walkProperties(
  schema: JsonSchema,
  onProperty: (path: string, propertySchema: unknown) => boolean,
): void {
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
        if (onProperty(path, sub)) visit(sub, path, refs);
      }
    }
  };
  visit(schema, '', new Set());
}

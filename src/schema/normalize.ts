/**
 * Reduces a JSON Schema node to a union of simple alternatives so the compatibility checker
 * can compare keyword by keyword: `$ref`s are resolved, `allOf` parts merged, `anyOf`/`oneOf`
 * spread into alternatives, and each alternative split per JSON type ("branches").
 *
 * Soundness rule. The writer side may be over-approximated (a branch that allows more than
 * the real schema only makes the check stricter), the reader side must never be: where the
 * reader cannot be reduced exactly, the keyword is recorded as `unverifiable`, and the checker
 * reports it as a breaking change to be reviewed by hand.
 */
import { deepEqual, isObject, resolvePointer, type JsonObject } from './json.js';

export type Side = 'writer' | 'reader';
export type TypeName = 'null' | 'boolean' | 'object' | 'array' | 'number' | 'string';
export const allTypes: readonly TypeName[] = ['null', 'boolean', 'object', 'array', 'number', 'string'];

/** One alternative of a schema: keywords that all apply (a conjunction). */
export interface Alternative {
  readonly node: JsonObject;
  /** Reader keywords that could not be reduced exactly (see the soundness rule). */
  readonly unverifiable: readonly string[];
}

/** An alternative restricted to one JSON type; `integer` narrows `number` to whole numbers. */
export interface Branch extends Alternative {
  readonly type: TypeName;
  readonly integer: boolean;
}

/** Keywords that do not change which values a schema accepts. */
const annotations = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  '$defs',
  'definitions',
  '$vocabulary',
  '$dynamicAnchor',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
]);

/**
 * Assertion keywords of JSON Schema 2020-12. A keyword outside this list and outside the
 * annotations is a vendor annotation (e.g. `x-pii`) and never affects validation.
 */
export const assertionKeywords = new Set([
  '$ref',
  '$dynamicRef',
  'type',
  'enum',
  'const',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'format',
  'prefixItems',
  'items',
  'contains',
  'maxContains',
  'minContains',
  'maxItems',
  'minItems',
  'uniqueItems',
  'unevaluatedItems',
  'properties',
  'patternProperties',
  'additionalProperties',
  'propertyNames',
  'unevaluatedProperties',
  'required',
  'dependentRequired',
  'dependentSchemas',
  'maxProperties',
  'minProperties',
]);

export function isAnnotation(keyword: string): boolean {
  return annotations.has(keyword) || !assertionKeywords.has(keyword);
}

/** True when the schema accepts every value (`true`, `{}` or only annotations). */
export function acceptsAnything(schema: unknown): boolean {
  if (schema === true) return true;
  return isObject(schema) && Object.keys(schema).every(isAnnotation);
}

const minKeywords = new Set(['minimum', 'minLength', 'minItems', 'minProperties', 'minContains']);
const maxKeywords = new Set(['maximum', 'maxLength', 'maxItems', 'maxProperties', 'maxContains']);
/** Keywords whose schemas, when both parts have one, combine as `allOf` of the two. */
const schemaKeywords = new Set(['items', 'propertyNames', 'contains', 'not', 'unevaluatedItems']);
/** Upper bound on alternatives, so pathological unions cannot explode. */
const maxAlternatives = 64;
const maxRefDepth = 32;

function without(node: JsonObject, ...keys: string[]): JsonObject {
  const copy: Record<string, unknown> = { ...node };
  for (const key of keys) delete copy[key];
  return copy;
}

function typeList(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((t): t is string => typeof t === 'string');
  return undefined;
}

/** Intersection of two `type` values; `integer` ∩ `number` is `integer`. */
function intersectTypes(a: unknown, b: unknown): string[] {
  const left = typeList(a) ?? [];
  const right = typeList(b) ?? [];
  const result = new Set<string>();
  for (const t of left) {
    if (right.includes(t)) result.add(t);
    else if (t === 'integer' && right.includes('number')) result.add('integer');
    else if (t === 'number' && right.includes('integer')) result.add('integer');
  }
  return [...result];
}

/**
 * The conjunction of two alternatives as one alternative. Exact for the keywords handled;
 * anything else keeps the first part's value (writer) or is marked unverifiable (reader).
 */
function merge(a: Alternative, b: Alternative, side: Side): Alternative {
  const node: Record<string, unknown> = { ...a.node };
  const unverifiable = [...a.unverifiable, ...b.unverifiable];
  if (side === 'reader' && (escapes(a.node, b.node) || escapes(b.node, a.node))) {
    // allOf parts judge additional properties against their own `properties` only.
    unverifiable.push('additionalProperties');
  }
  for (const [key, value] of Object.entries(b.node)) {
    const current = node[key];
    if (current === undefined || deepEqual(current, value)) {
      node[key] = value;
    } else if (key === 'type') {
      node.type = intersectTypes(current, value);
    } else if (key === 'required' && Array.isArray(current) && Array.isArray(value)) {
      node.required = [...new Set([...current, ...value])];
    } else if (key === 'enum' && Array.isArray(current) && Array.isArray(value)) {
      node.enum = current.filter((v) => value.some((w) => deepEqual(v, w)));
    } else if (minKeywords.has(key) || key === 'exclusiveMinimum') {
      node[key] = Math.max(Number(current), Number(value));
    } else if (maxKeywords.has(key) || key === 'exclusiveMaximum') {
      node[key] = Math.min(Number(current), Number(value));
    } else if (key === 'uniqueItems') {
      node[key] = current === true || value === true;
    } else if (
      (key === 'properties' || key === 'patternProperties') &&
      isObject(current) &&
      isObject(value)
    ) {
      const merged: Record<string, unknown> = { ...current };
      for (const [name, schema] of Object.entries(value)) {
        const existing = merged[name];
        merged[name] =
          existing === undefined || deepEqual(existing, schema) ? schema : { allOf: [existing, schema] };
      }
      node[key] = merged;
    } else if (key === 'additionalProperties' || schemaKeywords.has(key)) {
      node[key] = { allOf: [current, value] };
    } else if (side === 'reader') {
      unverifiable.push(key);
    }
  }
  return { node, unverifiable };
}

/** Whether `closed` refuses fields that `other` declares (so merging the two is not exact). */
function escapes(closed: JsonObject, other: JsonObject): boolean {
  const refuses =
    (closed.additionalProperties !== undefined && closed.additionalProperties !== true) ||
    closed.patternProperties !== undefined;
  if (!refuses || !isObject(other.properties)) return false;
  const own = isObject(closed.properties) ? closed.properties : {};
  return Object.keys(other.properties).some((name) => !(name in own));
}

function product(left: Alternative[], right: Alternative[], side: Side): Alternative[] {
  const result: Alternative[] = [];
  for (const a of left) for (const b of right) result.push(merge(a, b, side));
  return cap(result, side);
}

function cap(alternatives: Alternative[], side: Side): Alternative[] {
  if (alternatives.length <= maxAlternatives) return alternatives;
  // Writer: any value is a superset. Reader: nothing exact is left to say.
  return side === 'writer' ? [{ node: {}, unverifiable: [] }] : [{ node: {}, unverifiable: ['anyOf'] }];
}

/** Types an alternative allows, inferred from `const`/`enum` when `type` is absent. */
function typesOf(node: JsonObject): { type: TypeName; integer: boolean }[] {
  const declared = typeList(node.type);
  let names: string[];
  if (declared) names = declared;
  else if ('const' in node) names = [valueType(node.const)];
  else if (Array.isArray(node.enum)) names = [...new Set(node.enum.map(valueType))];
  else return allTypes.map((type) => ({ type, integer: false }));
  const result: { type: TypeName; integer: boolean }[] = [];
  const hasNumber = names.includes('number');
  for (const name of new Set(names)) {
    if (name === 'integer') {
      if (!hasNumber) result.push({ type: 'number', integer: true });
    } else if ((allTypes as readonly string[]).includes(name)) {
      result.push({ type: name as TypeName, integer: false });
    }
  }
  return result;
}

function valueType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * The alternatives of `schema` (whose `$ref`s resolve in `root`): the schema accepts a value
 * iff some alternative's keywords all accept it (exactly for the reader, at least for the
 * writer). `false` has none; `true` has one with no keywords.
 */
export function alternatives(schema: unknown, root: unknown, side: Side, depth = 0): Alternative[] {
  if (schema === false) return [];
  if (!isObject(schema)) return [{ node: {}, unverifiable: [] }];
  if (depth > maxRefDepth) return [{ node: {}, unverifiable: side === 'reader' ? ['$ref'] : [] }];
  let node: JsonObject = schema;
  let parts: Alternative[] = [{ node: {}, unverifiable: [] }];

  if (typeof node.$ref === 'string') {
    const target = resolvePointer(root, node.$ref);
    const resolved =
      target === undefined
        ? [{ node: {}, unverifiable: side === 'reader' ? ['$ref'] : [] }]
        : alternatives(target, root, side, depth + 1);
    parts = product(parts, resolved, side);
    node = without(node, '$ref');
  }
  if (Array.isArray(node.allOf)) {
    for (const part of node.allOf) parts = product(parts, alternatives(part, root, side, depth + 1), side);
    node = without(node, 'allOf');
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = node[keyword];
    if (!Array.isArray(options)) continue;
    const spread = options.flatMap((option) => alternatives(option, root, side, depth + 1));
    if (side === 'reader' && keyword === 'oneOf' && overlapping(options, root)) {
      // oneOf also rejects a value matching two options; exact only when options cannot overlap.
      parts = parts.map((p) => ({ ...p, unverifiable: [...p.unverifiable, 'oneOf'] }));
    }
    parts = product(parts, spread, side);
    node = without(node, keyword);
  }
  const own: Alternative = { node, unverifiable: [] };
  return cap(
    parts.map((p) => merge(own, p, side)),
    side,
  );
}

interface Shape {
  readonly types: Set<string>;
  /** Required properties whose values are listed (`const`/`enum`): a discriminator. */
  readonly tags: Map<string, unknown[]>;
}

function shapesOf(option: unknown, root: unknown): Shape[] {
  return alternatives(option, root, 'writer').map((alt) => {
    const tags = new Map<string, unknown[]>();
    const required = Array.isArray(alt.node.required) ? alt.node.required : [];
    const properties = isObject(alt.node.properties) ? alt.node.properties : {};
    for (const name of required) {
      if (typeof name !== 'string') continue;
      let property = properties[name];
      if (isObject(property) && typeof property.$ref === 'string')
        property = resolvePointer(root, property.$ref);
      if (!isObject(property)) continue;
      if ('const' in property) tags.set(name, [property.const]);
      else if (Array.isArray(property.enum)) tags.set(name, property.enum);
    }
    return { types: new Set(typesOf(alt.node).map((t) => t.type)), tags };
  });
}

/** Whether no value can match both shapes: disjoint types, or objects told apart by a discriminator. */
function disjoint(a: Shape, b: Shape): boolean {
  const common = [...a.types].filter((t) => b.types.has(t));
  if (common.length === 0) return true;
  if (common.some((t) => t !== 'object')) return false;
  for (const [name, values] of a.tags) {
    const other = b.tags.get(name);
    if (other && !values.some((v) => other.some((w) => deepEqual(v, w)))) return true;
  }
  return false;
}

/**
 * Whether two options of a oneOf may both accept one value, judged by their JSON types and by
 * discriminator properties (required, with distinct `const`/`enum` values).
 */
function overlapping(options: readonly unknown[], root: unknown): boolean {
  const shapes = options.map((option) => shapesOf(option, root));
  for (let i = 0; i < shapes.length; i += 1) {
    for (let j = i + 1; j < shapes.length; j += 1) {
      if (shapes[i]!.some((a) => shapes[j]!.some((b) => !disjoint(a, b)))) return true;
    }
  }
  return false;
}

/** The alternatives of `schema` split per JSON type. */
export function branches(schema: unknown, root: unknown, side: Side): Branch[] {
  return alternatives(schema, root, side).flatMap((alt) =>
    typesOf(alt.node).map((t) => ({ ...alt, type: t.type, integer: t.integer })),
  );
}

/**
 * The finite set of values a branch allows (from `const` and `enum`, limited to the branch's
 * type), or undefined when it is not restricted to listed values.
 */
export function listedValues(branch: Branch): unknown[] | undefined {
  const { node } = branch;
  let values: unknown[] | undefined;
  if ('const' in node) values = [node.const];
  if (Array.isArray(node.enum)) {
    values =
      values === undefined
        ? [...node.enum]
        : values.filter((v) => (node.enum as unknown[]).some((e) => deepEqual(v, e)));
  }
  if (values === undefined) return undefined;
  return values.filter((v) => {
    const t = valueType(v);
    if (branch.type === 'number') return t === 'integer' || (!branch.integer && t === 'number');
    return t === branch.type;
  });
}

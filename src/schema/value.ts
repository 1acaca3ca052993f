/**
 * Whether a reader schema accepts one concrete value: used when the writer allows only listed
 * values (`enum`/`const`), which can then be checked one by one instead of keyword by keyword.
 * Conservative: a keyword it does not evaluate makes it answer "not accepted".
 */
import { formats } from './formats.js';
import { deepEqual, isObject, jsonTypeOf, type JsonObject } from './json.js';
import { alternatives } from './normalize.js';

const unevaluated = [
  'not',
  'if',
  'contains',
  'dependentRequired',
  'dependentSchemas',
  'propertyNames',
  'unevaluatedItems',
];

export function valueAccepted(value: unknown, schema: unknown, root: unknown): boolean {
  if (schema === true) return true;
  if (schema === false) return false;
  return alternatives(schema, root, 'reader').some(
    (alt) => alt.unverifiable.length === 0 && matches(value, alt.node, root),
  );
}

function matches(value: unknown, node: JsonObject, root: unknown): boolean {
  if (unevaluated.some((k) => node[k] !== undefined)) return false;
  if (node.unevaluatedProperties !== undefined && node.unevaluatedProperties !== false) return false;
  const actual = jsonTypeOf(value);
  if (node.type !== undefined) {
    const declared = Array.isArray(node.type) ? node.type : [node.type];
    const ok = declared.includes(actual) || (actual === 'integer' && declared.includes('number'));
    if (!ok) return false;
  }
  if ('const' in node && !deepEqual(node.const, value)) return false;
  if (Array.isArray(node.enum) && !node.enum.some((e) => deepEqual(e, value))) return false;
  if (typeof value === 'string') return stringMatches(value, node);
  if (typeof value === 'number') return numberMatches(value, node);
  if (Array.isArray(value)) return arrayMatches(value, node, root);
  if (isObject(value)) return objectMatches(value, node, root);
  return true;
}

function stringMatches(value: string, node: JsonObject): boolean {
  const length = [...value].length;
  if (typeof node.minLength === 'number' && length < node.minLength) return false;
  if (typeof node.maxLength === 'number' && length > node.maxLength) return false;
  if (typeof node.pattern === 'string' && !new RegExp(node.pattern, 'u').test(value)) return false;
  if (typeof node.format === 'string') {
    const check = formats[node.format];
    if (check && !check(value)) return false;
  }
  return true;
}

function numberMatches(value: number, node: JsonObject): boolean {
  const num = (k: string) => (typeof node[k] === 'number' ? (node[k] as number) : undefined);
  const [min, xmin, max, xmax, step] = [
    'minimum',
    'exclusiveMinimum',
    'maximum',
    'exclusiveMaximum',
    'multipleOf',
  ].map(num);
  if (min !== undefined && value < min) return false;
  if (xmin !== undefined && value <= xmin) return false;
  if (max !== undefined && value > max) return false;
  if (xmax !== undefined && value >= xmax) return false;
  if (step !== undefined) {
    const ratio = value / step;
    if (Math.abs(ratio - Math.round(ratio)) > 1e-9) return false;
  }
  return true;
}

function arrayMatches(value: readonly unknown[], node: JsonObject, root: unknown): boolean {
  if (typeof node.minItems === 'number' && value.length < node.minItems) return false;
  if (typeof node.maxItems === 'number' && value.length > node.maxItems) return false;
  if (node.uniqueItems === true && value.some((v, i) => value.findIndex((w) => deepEqual(v, w)) !== i))
    return false;
  const prefix = Array.isArray(node.prefixItems) ? node.prefixItems : [];
  return value.every((item, i) =>
    valueAccepted(item, i < prefix.length ? prefix[i] : (node.items ?? true), root),
  );
}

function objectMatches(value: JsonObject, node: JsonObject, root: unknown): boolean {
  const keys = Object.keys(value);
  if (typeof node.minProperties === 'number' && keys.length < node.minProperties) return false;
  if (typeof node.maxProperties === 'number' && keys.length > node.maxProperties) return false;
  if (Array.isArray(node.required) && !node.required.every((k) => typeof k === 'string' && k in value))
    return false;
  const properties = isObject(node.properties) ? node.properties : {};
  const patterns = isObject(node.patternProperties) ? Object.entries(node.patternProperties) : [];
  const extra = node.additionalProperties ?? (node.unevaluatedProperties === false ? false : true);
  return keys.every((key) => {
    let governed = false;
    if (key in properties) {
      governed = true;
      if (!valueAccepted(value[key], properties[key], root)) return false;
    }
    for (const [pattern, schema] of patterns) {
      if (new RegExp(pattern, 'u').test(key)) {
        governed = true;
        if (!valueAccepted(value[key], schema, root)) return false;
      }
    }
    return governed || valueAccepted(value[key], extra, root);
  });
}

/**
 * The pure core of compatibility checking: can a reader that validates with schema R read
 * every event data written with schema W?
 *
 * Precisely, `compareSchemas(W, R)` returns no differences when every value that is valid
 * under W is also valid under R, with one convention about fields a schema does not declare:
 *
 *   An object schema that allows unknown fields (`additionalProperties` absent or `true`) is
 *   taken to mean "fields of other, future or retired versions may appear", never "any field
 *   name with any meaning". So a field declared only by R is assumed absent from W's data
 *   (adding an optional field is compatible), while W's data may still carry fields R does not
 *   know (so R refusing unknown fields is a breaking change). The convention holds as long as
 *   a field name is never reused with a different meaning; the transitive modes catch a name
 *   that is removed and later re-added with another type.
 *
 * `integer` is a subset of `number`. Keywords that only annotate (`title`, `description`,
 * `default`, `examples`, `deprecated`, `x-…`) never matter. Where the checker cannot decide
 * (e.g. R adds or changes `not`, `if`/`then`/`else`, `patternProperties`, `contains`), it
 * reports an `unverifiable` difference rather than guess: a false alarm can be overridden by a
 * person (mode NONE), a missed break cannot.
 */
import { deepEqual, isObject, sameSchema, type JsonObject } from './json.js';
import { acceptsAnything, branches, listedValues, type Branch } from './normalize.js';
import type { JsonSchema, SchemaDifference } from './types.js';
import { valueAccepted } from './value.js';

interface Context {
  readonly writerRoot: unknown;
  readonly readerRoot: unknown;
  /** Pairs (writer node, reader node) being compared further up: recursion through `$ref`. */
  readonly active: Map<object, Set<object>>;
}

const maxDepth = 64;

/** Why data written with `writer` may be rejected by a reader using `reader`; empty when it cannot. */
export function compareSchemas(writer: JsonSchema, reader: JsonSchema): SchemaDifference[] {
  const context: Context = { writerRoot: writer, readerRoot: reader, active: new Map() };
  const seen = new Set<string>();
  return compareNode(writer, reader, [], context).filter((d) => {
    const key = JSON.stringify([d.kind, d.path, d.keyword]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function compareNode(
  writer: unknown,
  reader: unknown,
  path: readonly string[],
  context: Context,
): SchemaDifference[] {
  if (writer === false) return [];
  if (acceptsAnything(reader)) return [];
  if (reader === false) return [{ kind: 'nothing-accepted', path }];
  if (path.length > maxDepth) return [{ kind: 'unverifiable', path, keyword: '$ref' }];
  if (isObject(writer) && isObject(reader)) {
    if (sameSchema(writer, context.writerRoot, reader, context.readerRoot)) return [];
    const partners = context.active.get(writer);
    if (partners?.has(reader)) return []; // Assume the pair compatible while proving it (coinduction).
    if (partners) partners.add(reader);
    else context.active.set(writer, new Set([reader]));
    try {
      return compareBranches(writer, reader, path, context);
    } finally {
      context.active.get(writer)?.delete(reader);
    }
  }
  return compareBranches(writer, reader, path, context);
}

function typeNames(list: readonly Branch[]): string[] {
  const names = [...new Set(list.map((b) => (b.type === 'number' && b.integer ? 'integer' : b.type)))];
  if (names.includes('number')) return names.filter((n) => n !== 'integer');
  return names;
}

function compareBranches(
  writer: unknown,
  reader: unknown,
  path: readonly string[],
  context: Context,
): SchemaDifference[] {
  const writerBranches = branches(writer, context.writerRoot, 'writer');
  const readerBranches = branches(reader, context.readerRoot, 'reader');
  const differences: SchemaDifference[] = [];
  const missing: Branch[] = [];
  for (const branch of writerBranches) {
    const candidates = readerBranches.filter(
      (r) => r.type === branch.type && (r.type !== 'number' || !r.integer || branch.integer),
    );
    if (candidates.length === 0) {
      missing.push(branch);
      continue;
    }
    let best: SchemaDifference[] | undefined;
    for (const candidate of candidates) {
      const found = compareBranch(branch, candidate, path, context);
      if (best === undefined || found.length < best.length) best = found;
      if (found.length === 0) break;
    }
    differences.push(...(best ?? []));
  }
  if (missing.length > 0) {
    differences.unshift({
      kind: 'type-narrowed',
      path,
      writer: typeNames(writerBranches),
      reader: typeNames(readerBranches),
      rejected: typeNames(missing).map((t) =>
        t === 'number' && readerBranches.some((r) => r.type === 'number') ? 'non-integer' : t,
      ),
    });
  }
  return differences;
}

/** Keywords the checker does not compare; a reader that adds or changes one is unverifiable. */
const uncompared: Record<string, readonly string[]> = {
  any: ['not', 'if', 'then', 'else', '$dynamicRef'],
  object: [
    'patternProperties',
    'propertyNames',
    'dependentRequired',
    'dependentSchemas',
    'unevaluatedProperties',
  ],
  array: ['contains', 'minContains', 'maxContains', 'unevaluatedItems'],
};

function compareBranch(
  writer: Branch,
  reader: Branch,
  path: readonly string[],
  context: Context,
): SchemaDifference[] {
  const differences: SchemaDifference[] = reader.unverifiable.map((keyword) => ({
    kind: 'unverifiable',
    path,
    keyword,
  }));
  const writerValues = listedValues(writer);
  if (writerValues !== undefined) {
    // The writer can only write these values: check each one instead of keyword by keyword.
    const rejected = writerValues.filter((v) => !valueAccepted(v, reader.node, context.readerRoot));
    if (rejected.length > 0) {
      differences.push({
        kind: 'values-rejected',
        path,
        writer: writerValues,
        reader: listedValues(reader),
        rejected,
      });
    }
    return differences;
  }
  const readerValues = listedValues(reader);
  if (readerValues !== undefined) {
    differences.push({ kind: 'values-restricted', path, reader: readerValues });
    return differences;
  }
  const w = writer.node;
  const r = reader.node;
  for (const keyword of [...(uncompared.any ?? []), ...(uncompared[writer.type] ?? [])]) {
    if (keyword === 'unevaluatedProperties' && r[keyword] === false) continue; // handled as a closed object
    if (r[keyword] !== undefined && !deepEqual(w[keyword], r[keyword])) {
      differences.push({ kind: 'unverifiable', path, keyword });
    }
  }
  switch (writer.type) {
    case 'string':
      differences.push(...compareString(w, r, path));
      break;
    case 'number':
      differences.push(...compareNumber(writer, r, path));
      break;
    case 'array':
      differences.push(...compareArray(w, r, path, context));
      break;
    case 'object':
      differences.push(...compareObject(w, r, path, context));
      break;
    default:
      break;
  }
  return differences;
}

const num = (node: JsonObject, keyword: string): number | undefined =>
  typeof node[keyword] === 'number' ? (node[keyword] as number) : undefined;

/** A reader minimum the writer does not guarantee (writer without one counts as 0). */
function minimumTightened(
  keyword: string,
  w: JsonObject,
  r: JsonObject,
  path: readonly string[],
): SchemaDifference[] {
  const reader = num(r, keyword);
  const writer = num(w, keyword);
  if (reader === undefined || (writer ?? 0) >= reader) return [];
  return [{ kind: 'limit-tightened', path, keyword, writer, reader }];
}

function maximumTightened(
  keyword: string,
  w: JsonObject,
  r: JsonObject,
  path: readonly string[],
): SchemaDifference[] {
  const reader = num(r, keyword);
  const writer = num(w, keyword);
  if (reader === undefined || (writer !== undefined && writer <= reader)) return [];
  return [{ kind: 'limit-tightened', path, keyword, writer, reader }];
}

function compareString(w: JsonObject, r: JsonObject, path: readonly string[]): SchemaDifference[] {
  const differences = [
    ...minimumTightened('minLength', w, r, path),
    ...maximumTightened('maxLength', w, r, path),
  ];
  if (r.pattern !== undefined && w.pattern !== r.pattern) {
    differences.push({
      kind: 'pattern-changed',
      path,
      keyword: 'pattern',
      writer: w.pattern,
      reader: r.pattern,
    });
  }
  if (r.format !== undefined && w.format !== r.format) {
    differences.push({ kind: 'format-changed', path, keyword: 'format', writer: w.format, reader: r.format });
  }
  return differences;
}

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

/** The stricter of an inclusive and an exclusive bound (`lower`: the larger one). */
function bound(node: JsonObject, inclusive: string, exclusive: string, lower: boolean): Bound | undefined {
  const a = num(node, inclusive);
  const b = num(node, exclusive);
  if (a === undefined) return b === undefined ? undefined : { value: b, exclusive: true };
  if (b === undefined) return { value: a, exclusive: false };
  if (a === b) return { value: a, exclusive: true };
  return (lower ? b > a : b < a) ? { value: b, exclusive: true } : { value: a, exclusive: false };
}

const showBound = (b: Bound | undefined, lower: boolean): string | undefined =>
  b === undefined ? undefined : `${lower ? (b.exclusive ? '>' : '≥') : b.exclusive ? '<' : '≤'} ${b.value}`;

function compareNumber(writer: Branch, r: JsonObject, path: readonly string[]): SchemaDifference[] {
  const w = writer.node;
  const differences: SchemaDifference[] = [];
  for (const lower of [true, false]) {
    const [inclusive, exclusive] = lower ? ['minimum', 'exclusiveMinimum'] : ['maximum', 'exclusiveMaximum'];
    const rb = bound(r, inclusive, exclusive, lower);
    if (rb === undefined) continue;
    const wb = bound(w, inclusive, exclusive, lower);
    const inside =
      wb !== undefined &&
      ((lower ? wb.value > rb.value : wb.value < rb.value) ||
        (wb.value === rb.value && (!rb.exclusive || wb.exclusive)));
    if (!inside) {
      differences.push({
        kind: 'limit-tightened',
        path,
        keyword: lower ? 'minimum' : 'maximum',
        writer: showBound(wb, lower),
        reader: showBound(rb, lower),
      });
    }
  }
  const step = num(r, 'multipleOf');
  if (step !== undefined) {
    const writerStep = num(w, 'multipleOf') ?? (writer.integer ? 1 : undefined);
    const ratio = writerStep === undefined ? NaN : writerStep / step;
    if (!(Math.abs(ratio - Math.round(ratio)) < 1e-9 && Math.round(ratio) >= 1)) {
      differences.push({
        kind: 'limit-tightened',
        path,
        keyword: 'multipleOf',
        writer: num(w, 'multipleOf'),
        reader: step,
      });
    }
  }
  return differences;
}

function compareArray(
  w: JsonObject,
  r: JsonObject,
  path: readonly string[],
  context: Context,
): SchemaDifference[] {
  const differences = [
    ...minimumTightened('minItems', w, r, path),
    ...maximumTightened('maxItems', w, r, path),
  ];
  if (r.uniqueItems === true && w.uniqueItems !== true) {
    differences.push({ kind: 'limit-tightened', path, keyword: 'uniqueItems', writer: false, reader: true });
  }
  const writerPrefix = Array.isArray(w.prefixItems) ? w.prefixItems : [];
  const readerPrefix = Array.isArray(r.prefixItems) ? r.prefixItems : [];
  const writerItems = w.items ?? true;
  const readerItems = r.items ?? true;
  const writerMax = num(w, 'maxItems') ?? Infinity;
  const positions = Math.max(writerPrefix.length, readerPrefix.length);
  for (let i = 0; i < positions && i < writerMax; i += 1) {
    const at = i < writerPrefix.length ? writerPrefix[i] : writerItems;
    const to = i < readerPrefix.length ? readerPrefix[i] : readerItems;
    differences.push(...compareNode(at, to, [...path, `[${i}]`], context));
  }
  if (writerMax > positions)
    differences.push(...compareNode(writerItems, readerItems, [...path, '[]'], context));
  return differences;
}

/** What an object schema says about fields it does not declare. */
function extraFields(node: JsonObject): unknown {
  if (node.additionalProperties !== undefined) return node.additionalProperties;
  return node.unevaluatedProperties === false ? false : true;
}

function compareObject(
  w: JsonObject,
  r: JsonObject,
  path: readonly string[],
  context: Context,
): SchemaDifference[] {
  const differences = [
    ...minimumTightened('minProperties', w, r, path),
    ...maximumTightened('maxProperties', w, r, path),
  ];
  const writerFields = isObject(w.properties) ? w.properties : {};
  const readerFields = isObject(r.properties) ? r.properties : {};
  const writerRequired = Array.isArray(w.required) ? w.required : [];
  const readerRequired = Array.isArray(r.required) ? r.required : [];
  const writerExtra = extraFields(w);
  const readerExtra = extraFields(r);

  for (const name of readerRequired) {
    if (typeof name === 'string' && !writerRequired.includes(name)) {
      differences.push({
        kind: 'required-added',
        path: [...path, name],
        declaredByWriter: name in writerFields && writerFields[name] !== false,
      });
    }
  }
  const names = new Set([...Object.keys(writerFields), ...Object.keys(readerFields)]);
  for (const name of names) {
    const field = [...path, name];
    const inWriter = name in writerFields;
    if (inWriter && writerFields[name] === false) continue;
    if (inWriter && name in readerFields) {
      differences.push(...compareNode(writerFields[name], readerFields[name], field, context));
    } else if (inWriter) {
      // The reader sees the writer's field as an unknown field.
      if (readerExtra === false) differences.push({ kind: 'field-rejected', path: field });
      else differences.push(...compareNode(writerFields[name], readerExtra, field, context));
    } else if (writerExtra !== false && !acceptsAnything(writerExtra)) {
      // A map-like writer (typed additionalProperties) may write this name with its value schema.
      differences.push(...compareNode(writerExtra, readerFields[name], field, context));
    }
    // Otherwise the writer does not write it (closed), or by the convention above did not.
  }
  if (writerExtra !== false) {
    if (readerExtra === false) {
      differences.push({ kind: 'unknown-fields-rejected', path, reader: false });
    } else if (acceptsAnything(writerExtra) && !acceptsAnything(readerExtra)) {
      differences.push({ kind: 'unknown-fields-rejected', path, reader: readerExtra });
    } else {
      differences.push(...compareNode(writerExtra, readerExtra, [...path, '*'], context));
    }
  }
  return differences;
}

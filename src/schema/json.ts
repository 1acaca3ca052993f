/** Small JSON helpers shared by the schema module. */

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values (key order does not matter; `1` equals `1.0`). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const other = Object.keys(b).filter((k) => b[k] !== undefined);
    return keys.length === other.length && keys.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Resolves a local JSON pointer reference (`#`, `#/$defs/address`, `#/definitions/a~1b`) in
 * `root`; undefined when it does not point anywhere.
 */
export function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const pointer = ref.slice(1);
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

const simpleName = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Joins data path segments for people: `address.postcode`, `lines[].amount`, `lines[2]`,
 * `labels.*`, `["odd name"]`. The data itself is the empty string.
 */
export function formatPath(segments: readonly string[]): string {
  let text = '';
  for (const segment of segments) {
    if (/^\[\d*\]$/.test(segment)) text += segment;
    else if (segment === '*' || simpleName.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** A short description of a value for messages: quoted strings, truncated. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string' && value.length > 40) return JSON.stringify(`${value.slice(0, 40)}…`);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** The JSON type names of a value, `integer` for whole numbers. */
export function jsonTypeOf(
  value: unknown,
): 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'string';
  return 'object';
}

/** The `$ref` values used anywhere inside a schema node. */
function refsIn(schema: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(schema)) {
    for (const item of schema) refsIn(item, found);
  } else if (isObject(schema)) {
    for (const [key, value] of Object.entries(schema)) {
      if ((key === '$ref' || key === '$dynamicRef') && typeof value === 'string') found.add(value);
      else refsIn(value, found);
    }
  }
  return found;
}

/**
 * Whether two schema nodes mean the same: equal text, and every `$ref` inside resolves to equal
 * text in both roots (followed transitively). Equal text alone is not enough when the
 * referenced `$defs` differ.
 */
export function sameSchema(a: unknown, aRoot: unknown, b: unknown, bRoot: unknown): boolean {
  if (!deepEqual(a, b)) return false;
  const pending = [...refsIn(a)];
  const seen = new Set(pending);
  while (pending.length > 0) {
    const ref = pending.pop()!;
    if (!ref.startsWith('#')) return false;
    const left = resolvePointer(aRoot, ref);
    const right = resolvePointer(bRoot, ref);
    if (left === undefined || right === undefined || !deepEqual(left, right)) return false;
    for (const next of refsIn(left)) {
      if (!seen.has(next)) {
        seen.add(next);
        pending.push(next);
      }
    }
  }
  return true;
}

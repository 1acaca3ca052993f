/**
 * Field projection: keeping only the fields a reader may see. One function serves the
 * consumer's allow-lists (before its handlers) and the authority's read API, so both project
 * the same way.
 *
 * A field path is property names joined by dots (`address.postcode`). Arrays are transparent:
 * `lines.amount` is the `amount` of every element of `lines`.
 */
import { isObject } from './json.js';

/** A set of field paths as a tree: `true` keeps everything below, a subtree keeps only its fields. */
type PathTree = Map<string, PathTree | true>;

function treeOf(paths: readonly string[]): PathTree {
  const root: PathTree = new Map();
  for (const path of paths) {
    const names = path.split('.');
    let node = root;
    for (const [i, name] of names.entries()) {
      const existing = node.get(name);
      // A prefix already kept whole keeps this path too.
      if (existing === true) break;
      if (i === names.length - 1) {
        node.set(name, true);
        break;
      }
      const next: PathTree = existing ?? new Map();
      node.set(name, next);
      node = next;
    }
  }
  return root;
}

function keep(value: unknown, tree: PathTree): unknown {
  if (Array.isArray(value)) return value.map((item) => keep(item, tree));
  if (!isObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, sub] of tree) {
    if (!Object.hasOwn(value, name)) continue;
    if (sub === true) out[name] = value[name];
    else {
      const inner = keep(value[name], sub);
      if (inner !== undefined) out[name] = inner;
    }
  }
  return out;
}

/**
 * The parts of `value` named by `paths`; everything else is left out. A value that is not an
 * object gives `{}` (nothing of it is allowed by name). The input is not changed.
 */
export function projectFields(value: unknown, paths: readonly string[]): Record<string, unknown> {
  return isObject(value) ? (keep(value, treeOf(paths)) as Record<string, unknown>) : {};
}

function drop(value: unknown, tree: PathTree): unknown {
  if (Array.isArray(value)) return value.map((item) => drop(item, tree));
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [name, sub] of tree) {
    if (!Object.hasOwn(out, name)) continue;
    if (sub === true) delete out[name];
    else out[name] = drop(out[name], sub);
  }
  return out;
}

/** `value` without the fields named by `paths` (at any depth, through arrays). The input is not changed. */
export function omitFields(value: unknown, paths: readonly string[]): unknown {
  return paths.length === 0 ? value : drop(value, treeOf(paths));
}

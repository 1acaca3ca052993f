import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { TidemarkError } from '../errors.js';
import { buildTopology, type TopologyDocument } from './build.js';
import { checkTopology } from './check.js';
import { fieldSchemaIssues } from './fields-check.js';
import type { SchemaLookup } from '../schema/schema-set.js';
import { formatPath, type TopologyIssue } from './issues.js';
import type { Topology } from './model.js';
import { schemaIssues } from './schema.js';

/** One error in a topology file, tied to where it is. Lines and columns count from 1. */
export interface TopologyError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Where in the document, e.g. `flows[2].consumer`; empty for the file as a whole. */
  readonly path: string;
  /** What is wrong and how to fix it. */
  readonly message: string;
}

export interface ParseTopologyOptions {
  /**
   * The registered event schemas: with them, each flow's `fields` must name fields the entity
   * type's schemas declare, and fields they tag `x-pii` need the flow's `pii` opt-in.
   */
  readonly schemas?: SchemaLookup;
}

export type TopologyResult =
  | { readonly valid: true; readonly topology: Topology; readonly errors: readonly [] }
  | { readonly valid: false; readonly errors: readonly TopologyError[] };

/** `tidemark.yaml:12:5 flows[2].consumer: context 'biling' is not declared; …` */
export function formatTopologyError(error: TopologyError): string {
  return `${error.file}:${error.line}:${error.column}${error.path ? ` ${error.path}` : ''}: ${error.message}`;
}

/** Raised by `loadTopology` for a file with errors; `errors` holds every one of them. */
export class TopologyInvalidError extends TidemarkError {
  readonly errors: readonly TopologyError[];

  constructor(file: string, errors: readonly TopologyError[]) {
    const count = `${errors.length} error${errors.length === 1 ? '' : 's'}`;
    super(
      'TM_TOPOLOGY_INVALID',
      [
        `${file} is not a valid topology (${count}):`,
        ...errors.map((e) => `  ${formatTopologyError(e)}`),
        `Fix ${errors.length === 1 ? 'it' : 'them'} and check again: tidemark topology check${
          file === 'tidemark.yaml' ? '' : ` --file ${file}`
        }`,
      ].join('\n'),
      { context: { file, errors } },
    );
    this.name = 'TopologyInvalidError';
    this.errors = errors;
  }
}

/**
 * Where an issue points: the node at its path, or (when that part of the document is
 * missing, e.g. a required field) the nearest enclosing node that exists.
 */
function offsetOf(doc: Document, issue: TopologyIssue): number {
  const path = issue.path;
  if (issue.at === 'key' && path.length > 0) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
      if (pair && isNode(pair.key) && pair.key.range) return pair.key.range[0];
    }
  }
  for (let n = path.length; n > 0; n--) {
    const node: unknown = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return isNode(doc.contents) && doc.contents.range ? doc.contents.range[0] : 0;
}

/**
 * Parses and validates the text of a topology file. Pure: no file is read; `file` only names
 * the source in errors. Every error is returned (YAML syntax errors first stop the rest, since
 * the document cannot be trusted then), sorted by line and column.
 */
export function parseTopology(
  text: string,
  file = 'tidemark.yaml',
  options: ParseTopologyOptions = {},
): TopologyResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, path: string, message: string): TopologyError => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col, path, message };
  };
  const invalid = (errors: TopologyError[]): TopologyResult => ({
    valid: false,
    errors: Object.freeze(
      errors
        .map((e, i) => ({ e, i }))
        .sort((a, b) => a.e.line - b.e.line || a.e.column - b.e.column || a.i - b.i)
        .map(({ e }) => Object.freeze(e)),
    ),
  });

  if (doc.errors.length > 0) {
    return invalid(
      doc.errors.map((e) =>
        at(
          e.pos[0],
          '',
          `YAML syntax: ${e.message.replace(/\s+/g, ' ').trim()}; fix the YAML and check again`,
        ),
      ),
    );
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    return invalid([
      at(
        0,
        '',
        'the file is empty; declare contexts, entityTypes and flows (`tidemark init` writes a commented starter file)',
      ),
    ]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    return invalid([at(0, '', `cannot read the document: ${(cause as Error).message}`)]);
  }

  const issues = [
    ...schemaIssues(data),
    ...checkTopology(data),
    ...(options.schemas ? fieldSchemaIssues(data, options.schemas) : []),
  ];
  if (issues.length > 0) {
    return invalid(issues.map((issue) => at(offsetOf(doc, issue), formatPath(issue.path), issue.message)));
  }
  return { valid: true, topology: buildTopology(data as TopologyDocument), errors: [] };
}

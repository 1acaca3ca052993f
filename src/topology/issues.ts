/** A location inside the topology document: keys and list indexes from the root. */
export type Path = readonly (string | number)[];

/**
 * One thing wrong with a topology document, before it is tied to a line. The pure checks
 * produce these; the loader adds file, line and column.
 */
export interface TopologyIssue {
  readonly path: Path;
  /** What is wrong and how to fix it; quotes the offending value. */
  readonly message: string;
  /** Point at the key itself (an unknown field) rather than at its value. */
  readonly at?: 'key';
}

/** `flows[2].consumer`; the empty path (the whole document) is ``. */
export function formatPath(path: Path): string {
  let text = '';
  for (const segment of path) {
    text += typeof segment === 'number' ? `[${segment}]` : text === '' ? segment : `.${segment}`;
  }
  return text;
}
